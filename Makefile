# newsmill: `make` lists the targets.
.DEFAULT_GOAL := help
include $(wildcard mk/*.mk)
