# balancer.mk - nginx balancing over several hosts that serve the detector
# (serve/nginx-balancer.conf.in, run by serve/balance.sh; docs/web.md):
# test/balancer_test.sh runs two backends and the balancer on loopback.
TEST_SCRIPTS += test/balancer_test.sh
