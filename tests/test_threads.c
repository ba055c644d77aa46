/* Placeholder: filled by the thread-safety work. */
#include <criterion/criterion.h>

Test(threads, placeholder) { cr_assert(1); }
