/*
 * The anchor module: a member records the SHA-256 of a document with a short label, proving
 * the document existed at that block. The document itself stays off chain. It is the smallest
 * real module, and exercises the engine end to end.
 *
 * Transaction anchor/record, payload: fixed[32] hash || text<64> label. Any member may send it.
 * State "doc/" || hash -> u64 height || fixed[32] sender || text<64> label.
 * A hash anchored once cannot be anchored again (refused, naming the first height).
 */
#ifndef BLOK_ANCHOR_H
#define BLOK_ANCHOR_H

#include "blok/module.h"

#define BLOK_ANCHOR_LABEL_MAX 64

extern const struct blok_module blok_anchor_module;

/* The payload of anchor/record. */
BLOK_WUR enum blok_err blok_anchor_payload(struct blok_buf *out, const uint8_t hash[32],
                                           const char *label);

#endif
