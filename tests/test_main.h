/* test_main.h — the main() of every cmocka test program.
 *
 * `prog` runs every test of the file; `prog NAME` runs only the test NAME,
 * which is how CTest lists and runs each scenario on its own. */
#ifndef USTCP_TEST_MAIN_H
#define USTCP_TEST_MAIN_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#define USTCP_TEST_MAIN(tests)                                    \
	int main(int argc, char **argv)                           \
	{                                                         \
		if (argc > 1)                                     \
			cmocka_set_test_filter(argv[1]);          \
		return cmocka_run_group_tests(tests, NULL, NULL); \
	}

#endif
