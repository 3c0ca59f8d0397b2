/* empty: does nothing; the cost of starting a process, for the benchmark */
int wmain(void)
{
    return 0;
}
