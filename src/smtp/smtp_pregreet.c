/*
 * smtp_pregreet.c - who has already waited for an MX greeting.
 *
 * The MX listener pauses SmtpGreetDelay before its greeting and refuses a
 * client that talks first (spam engines that do not wait for the server).
 * A client address that waited politely once is remembered for a day, so a
 * busy peer pays the pause once, as with Postfix's postscreen cache. The
 * table is fixed-size and process-wide; a collision just forgets the older
 * address, which then waits once more.
 */
#include "smtp_int.h"
#include "pal.h"
#include "yb_hash.h"

#include <string.h>

#define SMTP_PREGREET_SLOTS   4096
#define SMTP_PREGREET_PASS_MS (24u * 3600u * 1000u)

struct pregreet_slot {
    unsigned char ip[16];
    size_t len;
    uint64_t until_ms; /* 0: empty */
};

static struct pregreet_slot slots[SMTP_PREGREET_SLOTS];
static pal_mutex slots_lock;
static pal_once slots_once = PAL_ONCE_INIT;

static void slots_init(void)
{
    (void)pal_mutex_init(&slots_lock);
}

static size_t slot_of(const unsigned char *ip, size_t len)
{
    return yb_hash_bytes(YB_HASH_INIT, ip, len) % SMTP_PREGREET_SLOTS;
}

bool smtp_pregreet_passed(const struct pal_addr *peer)
{
    unsigned char ip[16];
    size_t len = 0;
    if (pal_addr_bytes(peer, ip, &len) != 0)
        return false;
    pal_once_run(&slots_once, slots_init);
    struct pregreet_slot *sl = &slots[slot_of(ip, len)];
    uint64_t now = pal_time_mono_ms();
    pal_mutex_lock(&slots_lock);
    bool ok = sl->until_ms > now && sl->len == len && memcmp(sl->ip, ip, len) == 0;
    pal_mutex_unlock(&slots_lock);
    return ok;
}

void smtp_pregreet_remember(const struct pal_addr *peer)
{
    unsigned char ip[16];
    size_t len = 0;
    if (pal_addr_bytes(peer, ip, &len) != 0)
        return;
    pal_once_run(&slots_once, slots_init);
    struct pregreet_slot *sl = &slots[slot_of(ip, len)];
    pal_mutex_lock(&slots_lock);
    memcpy(sl->ip, ip, len);
    sl->len = len;
    sl->until_ms = pal_time_mono_ms() + SMTP_PREGREET_PASS_MS;
    pal_mutex_unlock(&slots_lock);
}
