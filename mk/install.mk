# install.mk - make install, make uninstall (GNU conventions; docs/web.md,
# "Installing"):
#   make install [PREFIX=/usr/local] [DESTDIR=staging-dir]
#   $(bindir)/pneumonia-infer        ./infer
#   $(bindir)/pneumonia-trainer      the trainer
#   $(cgibindir)/predict             the CGI program
#   $(pkgdatadir)/www/               the upload page
#   $(pkgdatadir)/weights/           the shipped model and its backbone
# with cgibindir = $(libdir)/pneumonia-detection/cgi-bin and pkgdatadir =
# $(datadir)/pneumonia-detection. The programs find the installed model by
# walking up from their own directory to share/pneumonia-detection/weights/
# (lib/default_model.h, whose package name must match PACKAGE), so a tree
# works wherever it is copied, a DESTDIR staging tree included. The shipped
# model is an overlay on weights/inception_v3_nsfwjs.safetensors (made by
# `make weights`): without that file the model is installed but will not load.
# The programs installed are this build's ($(BUILD)/bin).
PACKAGE     := pneumonia-detection
PREFIX      ?= /usr/local
prefix      ?= $(PREFIX)
exec_prefix ?= $(prefix)
bindir      ?= $(exec_prefix)/bin
libdir      ?= $(exec_prefix)/lib
datadir     ?= $(prefix)/share
cgibindir   ?= $(libdir)/$(PACKAGE)/cgi-bin
pkgdatadir  ?= $(datadir)/$(PACKAGE)
INSTALL         ?= install
INSTALL_PROGRAM ?= $(INSTALL) -m 755
INSTALL_DATA    ?= $(INSTALL) -m 644

INSTALL_WWW     := $(wildcard www/*)
INSTALL_WEIGHTS := $(wildcard weights/pneumonia.safetensors weights/inception_v3_nsfwjs.safetensors)
TEST_SCRIPTS    += test/install_test.sh

.PHONY: install uninstall
install: $(BUILD)/bin/infer $(BUILD)/bin/trainer $(BUILD)/bin/predict
	$(INSTALL) -d "$(DESTDIR)$(bindir)" "$(DESTDIR)$(cgibindir)" \
	    "$(DESTDIR)$(pkgdatadir)/www" "$(DESTDIR)$(pkgdatadir)/weights"
	$(INSTALL_PROGRAM) $(BUILD)/bin/infer "$(DESTDIR)$(bindir)/pneumonia-infer"
	$(INSTALL_PROGRAM) $(BUILD)/bin/trainer "$(DESTDIR)$(bindir)/pneumonia-trainer"
	$(INSTALL_PROGRAM) $(BUILD)/bin/predict "$(DESTDIR)$(cgibindir)/predict"
	$(INSTALL_DATA) $(INSTALL_WWW) "$(DESTDIR)$(pkgdatadir)/www"
	$(INSTALL_DATA) $(INSTALL_WEIGHTS) "$(DESTDIR)$(pkgdatadir)/weights"
	@[ -f weights/inception_v3_nsfwjs.safetensors ] || echo "install: note:" \
	    "weights/inception_v3_nsfwjs.safetensors is missing (make weights):" \
	    "the installed model cannot load without its backbone" >&2

# Only what install put there: a model of one's own beside it stays.
uninstall:
	rm -f "$(DESTDIR)$(bindir)/pneumonia-infer" "$(DESTDIR)$(bindir)/pneumonia-trainer" \
	    "$(DESTDIR)$(cgibindir)/predict" \
	    $(addprefix "$(DESTDIR)$(pkgdatadir)/",$(INSTALL_WWW) $(INSTALL_WEIGHTS))
	rmdir "$(DESTDIR)$(cgibindir)" "$(DESTDIR)$(libdir)/$(PACKAGE)" \
	    "$(DESTDIR)$(pkgdatadir)/www" "$(DESTDIR)$(pkgdatadir)/weights" \
	    "$(DESTDIR)$(pkgdatadir)" 2>/dev/null || true
