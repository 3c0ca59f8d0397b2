/* The article's MemWrite, fixed only enough to build and run as C on 64-bit
   Windows: class became struct, (HANDLE)0xFFFFFFFF became
   INVALID_HANDLE_VALUE (the old value fails on x86-64 with error 6), and
   argv[1] may name the mapping so that tests do not collide. Its faults are
   kept on purpose: no error handling, the wrong pointer checked, and a
   while(1) that burns a whole CPU. The tests and the benchmark use it. */
#include <windows.h>
#include <stdio.h>
#include <string.h>

struct student {
    long ID;
    char name[20];
};

int main(int argc, char **argv)
{
    struct student st;
    HANDLE hMap;
    LPVOID pVoid;

    st.ID = 99041232;
    strcpy(st.name, "SecBug");
    hMap = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0,
                             sizeof(struct student), argc > 1 ? argv[1] : "TestMemShare");
    pVoid = MapViewOfFile(hMap, FILE_MAP_WRITE, 0, 0, 0);
    if (hMap == NULL) {
        printf("MapViewOfFile failed\n");
        return 1;
    }
    memcpy(pVoid, &st, sizeof(struct student));
    while (1)
        ;
}
