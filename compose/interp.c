/* interp.c - compose variable interpolation: compose-go v2's template package (a regular
 * expression plus brace counting) rendered as a single left-to-right scan in C, and its
 * application to every scalar value of a node tree. */
#include "compose/interp.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ${A:-${B:-...}} nested deeper than this is refused.  compose-go has no limit (Go stacks
 * grow); real files nest two or three levels, and the limit keeps a hostile value from
 * exhausting our stack. */
#define INTERP_MAX_DEPTH 64

/* How much of a template an error message quotes. */
#define INTERP_QUOTE_MAX 256

#define NONE SIZE_MAX

struct interp {
	const struct interp_env *env;
	struct px_buf name; /* scratch: the NUL-terminated name handed to lookup/on_unset */
	unsigned depth;
};

/*
 * How compose-go works, and why this scan is equivalent.  compose-go runs
 *   \$(?i:(\$)|([_a-z][_a-z0-9]*)|{(?:([_a-z][_a-z0-9]*(?::?[-+?](.*))?)}|()))
 * over the template (ReplaceAllStringFunc, leftmost-first, "." stops at '\n').  For a
 * braced reference with an operator, the greedy (.*)} runs to the LAST '}' of the line;
 * compose-go then cuts that match at the first balanced '}' (counting every '{', and
 * skipping the character after each '{'), takes everything between the operator and the
 * cut as the argument, and interpolates what follows the cut ("the rest") as a separate
 * template appended to the value.  The operator is the first of ":?" "?" ":-" "-" ":+"
 * "+" found in the match, which is always the one right after the name.  A braced
 * reference that matches nothing else is invalid ("${", "${}", "${ x}", "${x!}").
 *
 * The rest always ends at that last '}' of the line, so scanning it in place gives the
 * same matches as compose-go's separate call; only error messages need to know that the
 * template compose-go would name is the rest, hence tlo/thi below.  The argument is
 * interpolated by a recursive call bounded to it, only when the operator uses it.
 */

/* Bytes of the name character at s[0] (n > 0 available), 0 when there is none.  Go
 * matches [_a-z] case-insensitively with Unicode case folding, so U+017F (long s, folds
 * to 's') and U+212A (Kelvin sign, folds to 'k') are name letters too. */
static size_t name_char(const char *s, size_t n, bool first)
{
	unsigned char c = (unsigned char)s[0];
	unsigned char l = c | 0x20;

	if (c == '_' || (l >= 'a' && l <= 'z'))
		return 1;
	if (!first && c >= '0' && c <= '9')
		return 1;
	if (n >= 2 && c == 0xc5 && (unsigned char)s[1] == 0xbf)
		return 2;
	if (n >= 3 && c == 0xe2 && (unsigned char)s[1] == 0x84 && (unsigned char)s[2] == 0xaa)
		return 3;
	return 0;
}

/* Length of the (maximal) name starting at t[i], i < hi; 0 when no name starts there. */
static size_t name_len(const char *t, size_t i, size_t hi)
{
	size_t k = i, w;

	if (i >= hi || (w = name_char(t + i, hi - i, true)) == 0)
		return 0;
	k += w;
	while (k < hi && (w = name_char(t + k, hi - k, false)) != 0)
		k += w;
	return k - i;
}

static const char *lookup(struct interp *ip, const char *name, size_t len)
{
	px_buf_reset(&ip->name);
	px_buf_add(&ip->name, name, len);
	if (ip->env == NULL || ip->env->lookup == NULL)
		return NULL;
	return ip->env->lookup(ip->env->data, px_buf_cstr(&ip->name));
}

/* A plain reference ($NAME, ${NAME}): the value, or "" and the on_unset callback. */
static void substitute_plain(struct interp *ip, const char *name, size_t len, struct px_buf *out)
{
	const char *v = lookup(ip, name, len);

	if (v != NULL) {
		px_buf_adds(out, v);
		return;
	}
	if (ip->env != NULL && ip->env->on_unset != NULL)
		ip->env->on_unset(ip->env->data, px_buf_cstr(&ip->name));
}

static int invalid_format(const char *t, size_t lo, size_t hi, struct px_error *err)
{
	struct px_buf b = PX_BUF_INIT;

	interp_quote(&b, t + lo, hi - lo, INTERP_QUOTE_MAX);
	px_error_set(err, 0, "invalid interpolation format for %s", px_buf_cstr(&b));
	px_buf_release(&b);
	return -1;
}

/* compose-go's getFirstBraceClosingIndex over the match t[p, e]: the absolute index of
 * the first '}' that balances the '{'s seen so far, or NONE.  The character after each
 * '{' is skipped, as compose-go does ("{}" inside an argument does not close). */
static size_t closing_brace(const char *t, size_t p, size_t e)
{
	size_t open = 0;

	for (size_t s = p; s <= e; s++) {
		if (t[s] == '}' && open > 0 && --open == 0)
			return s;
		if (t[s] == '{') {
			open++;
			s++;
		}
	}
	return NONE;
}

static int interp_range(struct interp *ip, const char *t, size_t lo, size_t hi, struct px_buf *out,
			struct px_error *err);

/* Interpolate the operator argument t[lo, hi) as a template of its own. */
static int interp_arg(struct interp *ip, const char *t, size_t lo, size_t hi, struct px_buf *out,
		      struct px_error *err)
{
	int ret;

	if (ip->depth >= INTERP_MAX_DEPTH) {
		struct px_buf b = PX_BUF_INIT;

		interp_quote(&b, t + lo, hi - lo, INTERP_QUOTE_MAX);
		px_error_set(err, 0, "interpolation nested more than %d levels deep in %s",
			     INTERP_MAX_DEPTH, px_buf_cstr(&b));
		px_buf_release(&b);
		return -1;
	}
	ip->depth++;
	ret = interp_range(ip, t, lo, hi, out, err);
	ip->depth--;
	return ret;
}

/* ${NAME<op>arg}: name is t[n0, n1), the argument t[alo, ahi). */
static int substitute_op(struct interp *ip, const char *t, size_t n0, size_t n1, const char *op,
			 size_t alo, size_t ahi, struct px_buf *out, struct px_error *err)
{
	bool colon = op[0] == ':';
	char kind = op[colon ? 1 : 0];
	const char *v = lookup(ip, t + n0, n1 - n0);
	bool empty = v == NULL || (colon && v[0] == '\0');
	struct px_buf reason = PX_BUF_INIT;
	int ret;

	switch (kind) {
	case '-': /* default when unset (or empty with ':') */
		if (!empty) {
			px_buf_adds(out, v);
			return 0;
		}
		return interp_arg(ip, t, alo, ahi, out, err);
	case '+': /* alternative when set (and not empty with ':') */
		if (!empty)
			return interp_arg(ip, t, alo, ahi, out, err);
		return 0; /* the value, which is "" or unset */
	default:
		/* '?': required */
		if (!empty) {
			px_buf_adds(out, v);
			return 0;
		}
		ret = interp_arg(ip, t, alo, ahi, &reason, err);
		if (ret == 0)
			px_error_set(err, 0, "required variable %.*s is missing a value%s%s",
				     (int)(n1 - n0), t + n0, reason.len > 0 ? ": " : "",
				     px_buf_cstr(&reason));
		px_buf_release(&reason);
		return -1;
	}
}

/* Interpolate the template t[lo, hi), appending to out. */
static int interp_range(struct interp *ip, const char *t, size_t lo, size_t hi, struct px_buf *out,
			struct px_error *err)
{
	/* the template compose-go would name in an error: [lo, hi), or the rest of a braced
	 * reference while the scan is inside it (chain_end != 0) */
	size_t tlo = lo, thi = hi, chain_end = 0;
	/* the last line segment scanned for its last '}': [seg_lo, seg_end), '}' at
	 * seg_brace; every reference of one line shares it, which keeps a line of many
	 * references linear */
	size_t seg_lo = NONE, seg_end = 0, seg_brace = NONE;
	size_t i = lo;

	while (i < hi) {
		const char *d;
		size_t p, n, j, k, c, e, q;
		char op[3] = {0};

		if (chain_end != 0 && i >= chain_end) {
			tlo = lo;
			thi = hi;
			chain_end = 0;
		}
		d = memchr(t + i, '$', hi - i);
		if (d == NULL) {
			px_buf_add(out, t + i, hi - i);
			break;
		}
		p = (size_t)(d - t);
		if (chain_end != 0 && p >= chain_end) {
			px_buf_add(out, t + i, chain_end - i);
			i = chain_end;
			continue;
		}
		px_buf_add(out, t + i, p - i);
		i = p + 1;
		if (i < hi && t[i] == '$') { /* "$$" */
			px_buf_addch(out, '$');
			i++;
			continue;
		}
		if ((n = name_len(t, i, hi)) > 0) { /* $NAME */
			substitute_plain(ip, t + i, n, out);
			i += n;
			continue;
		}
		if (i >= hi || t[i] != '{') { /* a "$" that starts nothing */
			px_buf_addch(out, '$');
			continue;
		}
		j = i + 1;
		if ((n = name_len(t, j, hi)) == 0)
			return invalid_format(t, tlo, thi, err);
		k = j + n;
		if (k < hi && t[k] == '}') { /* ${NAME} */
			substitute_plain(ip, t + j, n, out);
			i = k + 1;
			continue;
		}
		if (k + 1 < hi && t[k] == ':' && t[k + 1] != '\0' && strchr("-+?", t[k + 1])) {
			op[0] = ':';
			op[1] = t[k + 1];
			c = k + 2;
		} else if (k < hi && t[k] != '\0' && strchr("-+?", t[k])) {
			op[0] = t[k];
			c = k + 1;
		} else {
			return invalid_format(t, tlo, thi, err);
		}
		/* the regex's (.*)}: the last '}' in [c, end of line) */
		if (seg_lo != NONE && c >= seg_lo && c < seg_end) {
			e = seg_brace != NONE && seg_brace >= c ? seg_brace : NONE;
		} else {
			size_t s;

			e = NONE;
			for (s = c; s < hi && t[s] != '\n'; s++)
				if (t[s] == '}')
					e = s;
			seg_lo = c;
			seg_end = s;
			seg_brace = e;
		}
		if (e == NONE)
			return invalid_format(t, tlo, thi, err);
		q = closing_brace(t, p, e);
		if (substitute_op(ip, t, j, k, op, c, q != NONE ? q : e, out, err) < 0)
			return -1;
		if (q != NONE && q < e) {
			/* the rest (q, e]: scanned in place, named in errors */
			tlo = q + 1;
			thi = e + 1;
			chain_end = e + 1;
			i = q + 1;
		} else {
			i = e + 1;
		}
	}
	return 0;
}

int interp_string(const char *in, const struct interp_env *env, char **out, struct px_error *err)
{
	struct interp ip = {env, PX_BUF_INIT, 0};
	struct px_buf b = PX_BUF_INIT;
	size_t len = strlen(in);
	int ret;

	*out = NULL;
	if (memchr(in, '$', len) == NULL) {
		*out = xstrdup(in);
		return 0;
	}
	ret = interp_range(&ip, in, 0, len, &b, err);
	px_buf_release(&ip.name);
	if (ret < 0) {
		px_buf_release(&b);
		return -1;
	}
	*out = px_buf_detach(&b, NULL);
	return 0;
}

/* in is shared when nothing below it changes, hence the cast: nodes are immutable and
 * sharing is how every transformation works (node.h). */
static int tree_walk(struct interp *ip, struct cnode_arena *a, const struct cnode *in,
		     struct cnode **out, struct px_buf *buf, struct px_error *err)
{
	struct cnode *copy = NULL, *kid;
	size_t i, step, first;

	*out = (struct cnode *)in;
	/* the parser saw no '$' anywhere below: nothing to interpolate (node.h) */
	if (in == NULL || (in->flags & CNODE_NO_DOLLAR))
		return 0;
	if (in->kind == CNODE_SCALAR) {
		if (memchr(in->value, '$', in->len) == NULL)
			return 0;
		px_buf_reset(buf);
		if (interp_range(ip, in->value, 0, in->len, buf, err) < 0) {
			char *msg = xstrdup(px_error_msg(err));

			cnode_error(err, in, "%s", msg);
			free(msg);
			return -1;
		}
		if (buf->len == in->len && memcmp(px_buf_cstr(buf), in->value, in->len) == 0)
			return 0;
		/* compose-go types YAML before it interpolates, so a value that held a template
		 * is a string whatever it expands to: "" stays "", "1.10" stays "1.10" (typed
		 * fields such as ports or init cast strings afterwards) */
		copy = cnode_new_scalar(a, px_buf_cstr(buf), true, in->mark);
		copy->tag = in->tag;
		*out = copy;
		return 0;
	}
	/* a map's items are key, value, key, value ...: only the values are walked */
	step = in->kind == CNODE_MAP ? 2 : 1;
	first = in->kind == CNODE_MAP ? 1 : 0;
	for (i = first; i < in->n * step; i += step) {
		if (tree_walk(ip, a, in->items[i], &kid, buf, err) < 0)
			return -1;
		if (kid == in->items[i])
			continue;
		if (copy == NULL)
			copy = cnode_clone(a, in);
		copy->items[i] = kid;
	}
	if (copy != NULL) {
		copy->flags = in->flags & CNODE_NO_TAG; /* values change, tags do not */
		*out = copy;
	}
	return 0;
}

int interp_tree(struct cnode_arena *a, const struct cnode *in, const struct interp_env *env,
		struct cnode **out, struct px_error *err)
{
	struct interp ip = {env, PX_BUF_INIT, 0};
	struct px_buf buf = PX_BUF_INIT;
	int ret;

	ret = tree_walk(&ip, a, in, out, &buf, err);
	if (ret < 0)
		*out = NULL;
	px_buf_release(&buf);
	px_buf_release(&ip.name);
	return ret;
}

size_t interp_utf8_decode(const char *s, size_t n, uint32_t *r)
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned char lo = 0x80, hi = 0xbf;
	size_t need;
	uint32_t v;

	*r = 0xfffd;
	if (n == 0)
		return 0;
	if (u[0] < 0x80) {
		*r = u[0];
		return 1;
	}
	/* the accepted second-byte ranges reject overlong forms, surrogates and > U+10FFFF */
	if (u[0] >= 0xc2 && u[0] <= 0xdf) {
		need = 2;
		v = u[0] & 0x1f;
	} else if (u[0] >= 0xe0 && u[0] <= 0xef) {
		need = 3;
		v = u[0] & 0x0f;
		if (u[0] == 0xe0)
			lo = 0xa0;
		else if (u[0] == 0xed)
			hi = 0x9f;
	} else if (u[0] >= 0xf0 && u[0] <= 0xf4) {
		need = 4;
		v = u[0] & 0x07;
		if (u[0] == 0xf0)
			lo = 0x90;
		else if (u[0] == 0xf4)
			hi = 0x8f;
	} else {
		return 1;
	}
	if (n < need || u[1] < lo || u[1] > hi)
		return 1;
	for (size_t k = 1; k < need; k++) {
		if (k > 1 && (u[k] < 0x80 || u[k] > 0xbf))
			return 1;
		v = v << 6 | (u[k] & 0x3f);
	}
	*r = v;
	return need;
}

/* Go's unicode.IsPrint, near enough for error messages: what it rejects beyond ASCII
 * controls are C1 controls, spaces other than ' ', format characters, private use. */
static bool quote_printable(uint32_t r)
{
	return !(r < 0x20 || (r >= 0x7f && r <= 0xa0) || r == 0xad || r == 0x1680 ||
		 (r >= 0x2000 && r <= 0x200f) || (r >= 0x2028 && r <= 0x202f) ||
		 (r >= 0x205f && r <= 0x206f) || r == 0x3000 || r == 0xfeff ||
		 (r >= 0xfff9 && r <= 0xfffb) || (r >= 0xe000 && r <= 0xf8ff) || r >= 0xf0000);
}

void interp_quote(struct px_buf *b, const char *s, size_t len, size_t max)
{
	size_t i = 0, w;
	uint32_t r;

	px_buf_addch(b, '"');
	while (i < len) {
		w = interp_utf8_decode(s + i, len - i, &r);
		if (i + w > max)
			break;
		if (r == 0xfffd && w == 1) {
			px_buf_addf(b, "\\x%02x", (unsigned char)s[i]);
		} else if (r == '"' || r == '\\') {
			px_buf_addch(b, '\\');
			px_buf_addch(b, (char)r);
		} else if (quote_printable(r)) {
			px_buf_add(b, s + i, w);
		} else {
			switch (r) {
			case '\a':
				px_buf_adds(b, "\\a");
				break;
			case '\b':
				px_buf_adds(b, "\\b");
				break;
			case '\f':
				px_buf_adds(b, "\\f");
				break;
			case '\n':
				px_buf_adds(b, "\\n");
				break;
			case '\r':
				px_buf_adds(b, "\\r");
				break;
			case '\t':
				px_buf_adds(b, "\\t");
				break;
			case '\v':
				px_buf_adds(b, "\\v");
				break;
			default:
				if (r < 0x80)
					px_buf_addf(b, "\\x%02x", (unsigned)r);
				else if (r < 0x10000)
					px_buf_addf(b, "\\u%04x", (unsigned)r);
				else
					px_buf_addf(b, "\\U%08x", (unsigned)r);
			}
		}
		i += w;
	}
	px_buf_addch(b, '"');
	if (i < len)
		px_buf_adds(b, "...");
}
