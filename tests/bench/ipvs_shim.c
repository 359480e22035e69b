/*
 * `make bench` only: an LD_PRELOAD shim that lets Debian's keepalived run
 * its checker on a kernel without IPVS, so that its checker can be measured
 * next to vigil's on the same lab. Not part of vigil.
 *
 * keepalived finds no "IPVS" generic netlink family and falls back to the
 * IPVS socket options (linux/ip_vs.h: IPPROTO_IP, IP_VS_BASE_CTL and up).
 * Those fail with ENOPROTOOPT here, and keepalived exits ("IPVS: Can't
 * initialize ipvs"). This shim answers them: every set succeeds and changes
 * nothing, every get returns an empty table. The checks, their scheduling
 * and logging stay keepalived's own; only the IPVS table writes, which
 * happen on state changes and not in steady state, become no-ops.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define IP_VS_BASE_CTL (64 + 1024 + 64)
#define IP_VS_SO_SET_MAX (IP_VS_BASE_CTL + 15)
#define IP_VS_SO_GET_VERSION IP_VS_BASE_CTL
#define IP_VS_SO_GET_INFO (IP_VS_BASE_CTL + 1)
#define IP_VS_SO_GET_SERVICES (IP_VS_BASE_CTL + 2)
#define IP_VS_SO_GET_MAX (IP_VS_BASE_CTL + 7)

struct ip_vs_getinfo {
	unsigned int version;
	unsigned int size;
	unsigned int num_services;
};

static int is_ipvs(int level, int optname, int max)
{
	return level == IPPROTO_IP && optname >= IP_VS_BASE_CTL && optname <= max;
}

int setsockopt(int fd, int level, int optname, const void *optval, socklen_t optlen)
{
	static int (*real)(int, int, int, const void *, socklen_t);
	if (is_ipvs(level, optname, IP_VS_SO_SET_MAX))
		return 0;
	if (!real)
		real = dlsym(RTLD_NEXT, "setsockopt");
	return real(fd, level, optname, optval, optlen);
}

int getsockopt(int fd, int level, int optname, void *optval, socklen_t *optlen)
{
	static int (*real)(int, int, int, void *, socklen_t *);
	if (is_ipvs(level, optname, IP_VS_SO_GET_MAX)) {
		if (optname == IP_VS_SO_GET_VERSION) {
			snprintf(optval, *optlen, "IP Virtual Server version 1.2.1 (size=4096)");
		} else if (optname == IP_VS_SO_GET_INFO && *optlen >= sizeof(struct ip_vs_getinfo)) {
			struct ip_vs_getinfo info = { 0x010201, 4096, 0 };
			memcpy(optval, &info, sizeof info);
		} else if (optname == IP_VS_SO_GET_SERVICES && *optlen >= sizeof(unsigned int)) {
			memset(optval, 0, sizeof(unsigned int)); /* num_services: an empty table */
		}
		return 0;
	}
	if (!real)
		real = dlsym(RTLD_NEXT, "getsockopt");
	return real(fd, level, optname, optval, optlen);
}
