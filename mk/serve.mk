# serve.mk - the Apache and lighttpd configurations in serve/ (nginx's is
# web_test.sh's): test/serve_test.sh runs each server that is installed.
TEST_SCRIPTS += test/serve_test.sh
