/* placeholder: replaced by the service implementation */
int main(void)
{
    return 1;
}
