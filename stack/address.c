/* address.c - where the host reaches a service's port: its published port on the loopback
 * (or any address), else the container's own address on a project network.  What db-check
 * needs when a database URL names a compose service ("db:5432"). */
#include "stack/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int stack_container_address(const json_t *c, int port, char **host, int *out_port)
{
	const json_t *ports = json_object_get(c, "Ports"), *p;
	const json_t *nets =
	    json_object_get(json_object_get(c, "NetworkSettings"), "Networks");
	const char *key;
	const json_t *net;
	size_t i;

	*host = NULL;
	*out_port = 0;
	/* a published port first: the loopback or every address, TCP, IPv4 */
	json_array_foreach(ports, i, p)
	{
		const char *ip = json_string_value(json_object_get(p, "IP"));
		const char *type = json_string_value(json_object_get(p, "Type"));
		json_int_t priv = json_integer_value(json_object_get(p, "PrivatePort"));
		json_int_t pub = json_integer_value(json_object_get(p, "PublicPort"));

		if (priv != port || pub <= 0 || (type != NULL && strcmp(type, "tcp") != 0) ||
		    ip == NULL || (strcmp(ip, "127.0.0.1") != 0 && strcmp(ip, "0.0.0.0") != 0))
			continue;
		*host = xstrdup("127.0.0.1");
		*out_port = (int)pub;
		return 0;
	}
	/* else the container itself, on the first network that gave it an address */
	json_object_foreach((json_t *)nets, key, net)
	{
		const char *ip = json_string_value(json_object_get(net, "IPAddress"));

		if (ip != NULL && *ip != '\0') {
			*host = xstrdup(ip);
			*out_port = port;
			return 0;
		}
	}
	return 1;
}

int stack_service_address(struct engine *e, const char *project, const char *service, int port,
			  char **host, int *out_port, struct px_error *err)
{
	json_t *list = NULL, *c;
	size_t i;
	int rc = 1;

	*host = NULL;
	if (stack_list_containers(e, project, &list, err) < 0)
		return -1;
	json_array_foreach(list, i, c)
	{
		if (!stack_serves(c, service))
			continue;
		rc = stack_container_address(c, port, host, out_port);
		if (rc == 0)
			break;
	}
	json_decref(list);
	return rc;
}
