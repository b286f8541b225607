/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef WGKS_SUBCOMMANDS_H
#define WGKS_SUBCOMMANDS_H

/* Each gets argv with argv[0] = the command's name; returns the exit status. */
int attach_main(int argc, char **argv);
int detach_main(int argc, char **argv);
int status_main(int argc, char **argv);
int lockdown_main(int argc, char **argv);
int watch_main(int argc, char **argv);
int sync_main(int argc, char **argv);

#endif
