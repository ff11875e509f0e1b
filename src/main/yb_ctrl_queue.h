/*
 * yb_ctrl_queue.h - hands the outbound queue to the CTRL queue commands.
 */
#ifndef YB_CTRL_QUEUE_H
#define YB_CTRL_QUEUE_H

#include "yb_queue.h"

/* Makes CTRL's queue commands act on q and ROOT/spool; NULL takes them away again. */
void yb_ctrl_queue_install(struct yb_queue *q, const char *root);

#endif
