#!/usr/bin/env python3
"""Generates deploy/local/prompts.jsonl, the bundled prompt set of the local demo.

Deterministic (fixed seed): instructions are composed from a subject, a task and a constraint
so that no two share a 10-token prefix or are near-duplicates. Run it again only to change the
set; the committed file is what run.sh uses.
"""
import json
import random

SUBJECTS = [
    "photosynthesis", "black holes", "the French Revolution", "compound interest", "TCP congestion control",
    "the immune system", "plate tectonics", "Bayesian inference", "the Roman aqueducts", "quantum entanglement",
    "supply and demand", "CRISPR gene editing", "the water cycle", "public-key cryptography", "the Silk Road",
    "neural networks", "inflation", "the Renaissance", "vaccines", "climate feedback loops",
    "garbage collection in Java", "the Pythagorean theorem", "sourdough fermentation", "the stock market",
    "jazz improvisation", "volcanic eruptions", "the printing press", "blockchain consensus", "sleep cycles",
    "the Doppler effect", "game theory", "coral reef ecosystems", "the Cold War", "solar panels",
    "antibiotic resistance", "Shakespeare's sonnets", "the Fibonacci sequence", "urban heat islands",
    "Kubernetes scheduling", "the Great Barrier Reef", "monetary policy", "impressionist painting",
    "DNS resolution", "the human microbiome", "glacier formation", "the Byzantine Empire", "wind turbines",
    "relational databases", "the placebo effect", "origami mathematics", "ocean tides", "the Marshall Plan",
    "compilers", "honeybee colonies", "the theory of evolution", "electric vehicles", "Stoic philosophy",
    "the Higgs boson", "rainforest canopies", "the Apollo program", "hash tables", "minimalist design",
]

TASKS = [
    "Explain {s} to a curious twelve-year-old",
    "Write a short poem about {s}",
    "Give three surprising facts about {s}",
    "Summarise the main debates around {s}",
    "Design a one-hour lesson plan on {s}",
    "Compare {s} with a closely related idea and list the differences",
    "Write a persuasive paragraph arguing why everyone should learn about {s}",
    "List common misconceptions about {s} and correct each one",
    "Draft five quiz questions, with answers, testing knowledge of {s}",
    "Tell a short story in which {s} plays a central role",
    "Describe how {s} might change over the next fifty years",
    "Outline a research project investigating {s}",
    "Explain {s} using only an analogy from cooking",
    "Write a tweet-length explanation of {s}",
    "What would a historian and an engineer each emphasise about {s}?",
]

CONSTRAINTS = [
    "Keep it under 150 words.",
    "Use a numbered list.",
    "Avoid technical jargon.",
    "End with a question for the reader.",
    "Include one concrete example.",
    "Write it in a friendly, informal tone.",
    "Cite the key idea in a single bold sentence first.",
    "Make it suitable for a newspaper column.",
    "Use exactly three paragraphs.",
    "Add a one-line summary at the end.",
    "",
]


def main():
    rng = random.Random(20240710)
    pairs = [(s, t) for s in SUBJECTS for t in TASKS]
    rng.shuffle(pairs)
    out = []
    for i, (s, t) in enumerate(pairs[:1000]):
        text = t.format(s=s)
        c = rng.choice(CONSTRAINTS)
        if c:
            text = f"{text}. {c}"
        else:
            text = f"{text}."
        cat = t.split(" ")[0].lower()
        out.append({"prompt": text, "category": cat, "uid": f"local-{i:04d}"})
    with open("prompts.jsonl", "w") as f:
        for row in out:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(out)} prompts")


if __name__ == "__main__":
    main()
