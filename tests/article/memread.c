/* The article's MemRead, fixed only enough to build as C: class became
   struct, cout became printf, and argv[1] may name the mapping so that tests
   do not collide. Its faults are kept: no error handling and a name printed
   with no bound. The tests use it to read memwrite's section. */
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

    hMap = OpenFileMapping(FILE_MAP_READ, FALSE, argc > 1 ? argv[1] : "TestMemShare");
    pVoid = MapViewOfFile(hMap, FILE_MAP_READ, 0, 0, 0);
    memcpy(&st, pVoid, sizeof(struct student));
    printf("%ld\n%s\n", st.ID, st.name);
    return 0;
}
