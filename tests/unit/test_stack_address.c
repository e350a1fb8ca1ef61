/* test_stack_address.c - where the host reaches a service's port, from the container list's
 * entries: the published loopback / any-address TCP port first, else the container's own
 * address, else nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "stack/stack.h"

struct row {
	const char *container; /* JSON of a /containers/json entry */
	int port;
	int rc;
	const char *host;
	int out_port;
};

static const struct row rows[] = {
    /* published on the loopback: that port, on 127.0.0.1 */
    {"{\"Ports\":[{\"IP\":\"127.0.0.1\",\"PrivatePort\":5432,\"PublicPort\":49153,\"Type\":\"tcp\"}],"
     "\"NetworkSettings\":{\"Networks\":{\"p_default\":{\"IPAddress\":\"172.18.0.2\"}}}}",
     5432, 0, "127.0.0.1", 49153},
    /* published on every address: reachable through the loopback too */
    {"{\"Ports\":[{\"IP\":\"0.0.0.0\",\"PrivatePort\":5432,\"PublicPort\":5433,\"Type\":\"tcp\"}]}",
     5432, 0, "127.0.0.1", 5433},
    /* another port published, or UDP, or IPv6 only: the container's address */
    {"{\"Ports\":[{\"IP\":\"127.0.0.1\",\"PrivatePort\":3000,\"PublicPort\":3000,\"Type\":\"tcp\"},"
     "{\"IP\":\"127.0.0.1\",\"PrivatePort\":5432,\"PublicPort\":5432,\"Type\":\"udp\"},"
     "{\"IP\":\"::\",\"PrivatePort\":5432,\"PublicPort\":5434,\"Type\":\"tcp\"},"
     "{\"PrivatePort\":5432,\"Type\":\"tcp\"}],"
     "\"NetworkSettings\":{\"Networks\":{\"p_default\":{\"IPAddress\":\"172.18.0.5\"}}}}",
     5432, 0, "172.18.0.5", 5432},
    /* no address at all (network_mode: none) */
    {"{\"Ports\":[],\"NetworkSettings\":{\"Networks\":{\"none\":{\"IPAddress\":\"\"}}}}", 5432, 1,
     NULL, 0},
};

static void test_addresses(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		json_t *c = json_loads(rows[i].container, 0, NULL);
		char *host = NULL;
		int port = -1;

		assert_non_null(c);
		assert_int_equal(stack_container_address(c, rows[i].port, &host, &port), rows[i].rc);
		if (rows[i].host == NULL) {
			assert_null(host);
		} else {
			assert_string_equal(host, rows[i].host);
			assert_int_equal(port, rows[i].out_port);
		}
		free(host);
		json_decref(c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_addresses),
	};

	return cmocka_run_group_tests_name("stack_address", tests, NULL, NULL);
}
