/*
 * schema.h: the rules that turn what a user writes into what storage keeps.
 *
 * Record keys and their file names, the ordered byte form of keys that
 * storage sorts by, and the canonical text of a record.  Nothing here knows
 * FUSE; nothing here touches LMDB.  This is schema/'s one public header:
 * what its files share beyond it stays in schema_i.h.
 *
 * Every function returns 0 or a positive errno.  Where a refusal needs words,
 * the caller passes a struct schema_err and gets one line that says why,
 * without the path (the caller prefixes it).
 */
#ifndef RECORDFS_SCHEMA_H
#define RECORDFS_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

struct schema_err {
	char msg[512];
};

/* Set err->msg with printf-style text (err may be NULL); returns code. */
int schema_fail(struct schema_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- keys ------------------------------------------------------------ */

enum schema_key_type {
	SCHEMA_KEY_INT = 1, /* a JSON integer that fits int64_t */
	SCHEMA_KEY_STR = 2, /* a JSON string: valid UTF-8, may hold NUL */
};

/*
 * A primary key.  For strings, s points into memory owned by whoever filled
 * the struct (see each function) and is not NUL-terminated.
 */
struct schema_key {
	enum schema_key_type type;
	int64_t i;
	const char *s;
	size_t len;
};

/* Longest record file name, ".json" included (NAME_MAX). */
#define SCHEMA_NAME_MAX 255
/* Longest stem written out in full; longer keys get the hashed form. */
#define SCHEMA_STEM_MAX 250
/* Longest key (bytes of string, as stored); longer is EINVAL. */
#define SCHEMA_KEY_MAX 499
/* Size of a buffer that holds any schema_key_encode() output. */
#define SCHEMA_KEYBUF_MAX (SCHEMA_KEY_MAX + 1)

/*
 * Classify a name found in a table directory.
 *
 * Returns 0 and fills *key when name is a record name: "<stem>.json" where
 * stem is the canonical encoding of a key (see schema_key_to_name).  String
 * keys are decoded into buf (bufsize at least SCHEMA_KEYBUF_MAX) and key->s
 * points into buf.
 *
 * Returns ENOENT when the name is not a record name at all (it does not end
 * in ".json", or begins with "."): the caller treats it as a scratch file.
 *
 * Returns EINVAL with a message when the name ends in ".json" but is not the
 * canonical name of any key (bad percent escape, "%41" where "A" is meant,
 * "007", invalid UTF-8, an empty stem), naming the canonical form if any.
 *
 * Names in the hashed long form ("<prefix>%~<64 hex>.json") return EAGAIN:
 * the key cannot be read back from the name, so the caller finds it by the
 * digest (schema_name_digest()) and checks it with schema_key_to_name().
 */
int schema_name_to_key(const char *name, size_t namelen, struct schema_key *key,
		       char *buf, size_t bufsize, struct schema_err *err);

/*
 * Write the canonical file name of key, ".json" included, NUL-terminated,
 * into name (SCHEMA_NAME_MAX + 1 bytes).  Integers are written in decimal.
 * Strings are percent-encoded (%XX, upper-case hex) where a byte is '/',
 * NUL, '%', a control character (< 0x20 or 0x7f), or a leading '.'; a string
 * that reads as a canonical integer ("2", "-7") has its first byte encoded.
 * If the encoded stem is longer than SCHEMA_STEM_MAX the name becomes
 * "<first bytes of the stem, never splitting an escape>%~<sha256 hex of the
 * key's bytes>.json", at most SCHEMA_NAME_MAX bytes.  Returns the length.
 * The hex is lower-case, as sha256sum prints it.  The empty string would be
 * ".json", which names no key: schema_record_prepare() refuses it as a key.
 */
size_t schema_key_to_name(const struct schema_key *key, char *name);

/*
 * For a name in the hashed long form, copy the 32-byte SHA-256 digest it
 * carries to digest and return 0; ENOENT if it is not in that form.
 */
int schema_name_digest(const char *name, size_t namelen, uint8_t digest[32]);

/* SHA-256 of a key's bytes (the string, or the 8-byte big-endian integer). */
void schema_key_digest(const struct schema_key *key, uint8_t digest[32]);

/*
 * Ordered byte form for storage: integers sort numerically before strings,
 * strings sort bytewise.  Writes to out (SCHEMA_KEYBUF_MAX bytes) and returns
 * the length, or 0 (nothing written) for a string longer than
 * SCHEMA_KEY_MAX.  schema_key_decode() reverses it; key->s then points into
 * the given bytes.  Returns EINVAL on malformed input.
 */
size_t schema_key_encode(const struct schema_key *key, uint8_t *out);
int schema_key_decode(const uint8_t *in, size_t len, struct schema_key *key);

/* ---- records --------------------------------------------------------- */

/* Largest record or scratch file, in bytes (EFBIG past it). */
#define SCHEMA_RECORD_MAX (16u * 1024 * 1024)

/* Attributes the daemon keeps on every record of a dynamic table. */
#define SCHEMA_CREATED "__createdtime__"
#define SCHEMA_UPDATED "__updatedtime__"

/*
 * Incremental check of a record body as it is written.
 *
 * schema_check_new() starts one; schema_check_feed() gives it the next bytes
 * (in order, from offset 0).  Feed returns EINVAL with a message as soon as
 * the bytes cannot be one JSON object (bad JSON, a value that is not an
 * object, anything but whitespace after the object, invalid UTF-8, an
 * integer that fits neither int64_t nor uint64_t).
 * schema_check_done() reports whether a whole object has been seen.
 */
struct schema_check;
/* A check made by schema_check_new() keeps the object of a body of at most
 * this many bytes for schema_record_prepare_checked(). */
#define SCHEMA_CHECK_KEEP_MAX (64u * 1024)
struct schema_check *schema_check_new(void);
void schema_check_free(struct schema_check *c);
int schema_check_feed(struct schema_check *c, const char *buf, size_t len,
		      struct schema_err *err);
int schema_check_done(const struct schema_check *c);

/*
 * Turn a written body into the text storage keeps.
 *
 * body/len: what the user wrote (may be empty or whitespace only: a record
 * holding only its key).  key: the key from the file name; the body's
 * primary key attribute pk (e.g. "id") must equal it, or is added from it.
 * old/oldlen: the record being replaced, or NULL: its __createdtime__ is
 * kept.  A new record keeps a numeric __createdtime__ the body carries (a
 * restored copy) or gets now_ms.  __updatedtime__ becomes now_ms.  When
 * dynamic is zero the two time attributes are left alone.
 *
 * On success *out is a malloc'd canonical text (schema_canon format) and
 * *outlen its length; the caller frees it.  Errors: EINVAL with a message
 * (bad JSON, not an object, key in body disagrees, key of wrong type, a
 * string key that is empty, longer than SCHEMA_KEY_MAX or not UTF-8),
 * EFBIG over SCHEMA_RECORD_MAX, ENOMEM.
 */
int schema_record_prepare(const char *body, size_t len,
			  const struct schema_key *key, const char *pk,
			  const char *old, size_t oldlen, int64_t now_ms,
			  int dynamic, char **out, size_t *outlen,
			  struct schema_err *err);

/*
 * Whether body is a whole plain record that schema_record_prepare() takes
 * for key: one object of strings without escapes, integers of at most 18
 * digits, true, false and null, each name once, the key attribute pk (if
 * there) agreeing with key, and no time attribute when dynamic.  0 if so;
 * EAGAIN when it cannot tell that way, and schema_check_feed() must.
 * schema_record_prepare() makes the text of such a body in one pass,
 * without json-c.
 */
int schema_record_plain(const char *body, size_t len,
			const struct schema_key *key, const char *pk,
			int dynamic);

/*
 * The same for a body a schema_check has seen whole (schema_check_done()),
 * from the object the check kept rather than parsing the text again: the
 * object is taken, so a second call (a retried transaction) returns EAGAIN,
 * as does a check that has not seen a whole object; the caller then uses
 * schema_record_prepare() on the text.  Same output and errors otherwise.
 */
int schema_record_prepare_checked(struct schema_check *c,
				  const struct schema_key *key, const char *pk,
				  const char *old, size_t oldlen,
				  int64_t now_ms, int dynamic, char **out,
				  size_t *outlen, struct schema_err *err);

/*
 * What schema_record_prepare() would refuse in a whole body of a dynamic
 * table, from the object the check kept: a key that is not valid, or an
 * attribute pk that disagrees with key.  EAGAIN when the check has not seen
 * a whole object (or it was taken).  The object is not changed.
 */
int schema_check_key(const struct schema_check *c, const struct schema_key *key,
		     const char *pk, struct schema_err *err);

/*
 * Give an existing record a new key (a rename): text is its stored canonical
 * text; the result carries key in attribute pk, keeps __createdtime__ and
 * sets __updatedtime__ to now_ms when dynamic.  Output and errors as for
 * schema_record_prepare().  (schema/edit.c)
 */
int schema_record_rekey(const char *text, size_t len,
			const struct schema_key *key, const char *pk,
			int64_t now_ms, int dynamic, char **out, size_t *outlen,
			struct schema_err *err);

/*
 * A record's body for another table: a move between tables, or a table
 * whose schema changes.  from and to are the two tables' schemas (NULL: a
 * dynamic table, key "id" and times __createdtime__/__updatedtime__).  The
 * body loses from's key attribute when the key names differ, and the
 * values of from's time attributes move to to's (dropped where to has
 * none, or where the body holds a value under to's name already, as a
 * restored copy written into a dynamic table does), so creation survives
 * the move.  *body is malloc'd compact JSON,
 * to be written as a new record (schema_record_prepare() without an old
 * record keeps a creation time the body carries).  EIO if text is not a
 * JSON object, ENOMEM.  (schema/edit.c)
 *
 * schema_record_retable_needed() says whether the two differ in those
 * names at all; when not, a record needs no such change.
 */
struct schema_table;
int schema_record_retable(const char *text, size_t len,
			  const struct schema_table *from,
			  const struct schema_table *to, char **body,
			  size_t *bodylen);
int schema_record_retable_needed(const struct schema_table *from,
				 const struct schema_table *to);

/*
 * A JSON Merge Patch (RFC 7386) of a record: patch, one JSON object, merged
 * into old (a record's stored text; NULL for none, the empty object):
 * each attribute named is set, merged into an object it names, or removed
 * where the patch says null; the others stay.  *body (malloc'd compact
 * JSON) is the whole record, to go through schema_record_prepare() as a
 * write.  EINVAL with a message for a patch that is no JSON object, EIO
 * for an old text that is none, ENOMEM.  (schema/edit.c)
 */
int schema_merge_patch(const char *old, size_t oldlen, const char *patch,
		       size_t plen, char **body, size_t *bodylen,
		       struct schema_err *err);

/*
 * The canonical text: 2-space indent, one attribute per line, "{}" and "[]"
 * for empty containers, "key": value with one space, no escaped '/', the
 * primary key first, then the attributes in the order written, ending in a
 * newline.
 *
 * schema_compact() converts canonical text to the one-line form
 * ({"id":2,"name":"Zelda"} plus newline) by removing the whitespace outside
 * strings; it works on text, costs one pass, and never fails.  out may be
 * NULL to learn the length only.  Returns the length.
 */
size_t schema_compact(const char *canon, size_t len, char *out);

/* ---- index values (schema/value.c, entries.c, scan.c) --------------- */

/* The primary key attribute of dynamic tables. */
#define SCHEMA_PK "id"

/*
 * The index entries of a record's canonical text as storage keeps them
 * (schema/entries.c): schema_index_entries() less the attributes and values
 * too long for an index key.  Matches store_entries_fn.
 */
int schema_store_entries(const void *text, size_t len,
			 int (*fn)(const void *attr, size_t alen,
				   const void *val, size_t vlen, void *arg),
			 void *arg);

struct schema_table;

/*
 * The same for a record of table t: t NULL is a dynamic table (every
 * top-level attribute but "id"); a declared table indexes the attributes
 * marked @indexed, never its @primaryKey.
 */
int schema_table_store_entries(const struct schema_table *t, const void *text,
			       size_t len,
			       int (*fn)(const void *attr, size_t alen,
					 const void *val, size_t vlen,
					 void *arg),
			       void *arg);

/*
 * The integer a canonical text holds in its top-level attribute name, read
 * without json-c: 1 with *out set when it is an integer (json-c's int type)
 * within int64_t, 0 when the text holds none, ENOTSUP when the scanner
 * cannot tell as json-c would (then parse the text).  (schema/scan.c)
 */
int schema_text_int_attr(const char *text, size_t len, const char *name,
			 int64_t *out);

/*
 * The same through schema_index_entries_quick(), json-c only where the
 * scanner gives up: for the daemon, which indexes the canonical texts it
 * makes and stores.  The checker keeps to json-c, so the two are proved
 * against each other by every check.
 */
int schema_table_store_entries_quick(const struct schema_table *t,
				     const void *text, size_t len,
				     int (*fn)(const void *attr, size_t alen,
					       const void *val, size_t vlen,
					       void *arg),
				     void *arg);

/*
 * An indexed value in ordered byte form: self-delimiting (an index key is
 * the value's bytes followed directly by the record's key bytes) and
 * sorting as the index lists it: null, false, true, then numbers in
 * numeric order (integers and floats together), then strings bytewise.
 * At most SCHEMA_VALUE_MAX bytes; a longer string is cut and marked so that
 * it still sorts among its peers and is found through its digest.
 *
 * A number is exact for every int64_t, uint64_t and finite double (17
 * bytes: the nearest double, then the integer's exact difference from it).
 * A float that is a whole number within those integer types is that
 * integer: 3.0 and 3 are one value, -0.0 is 0.  A string is its bytes with
 * NUL escaped and a terminator; one whose form would pass SCHEMA_VALUE_MAX
 * keeps the first bytes (never part of a character) and the SHA-256 of the
 * whole string, so equal strings still meet.
 */
#define SCHEMA_VALUE_MAX 384

/*
 * Call fn once per index entry of a record's canonical text: for every
 * top-level attribute but the primary key pk, the attribute name and the
 * value's ordered bytes; an array gives one call per element that is not
 * an object or array (each distinct value once, in value order); objects
 * and nested arrays give none.  Attributes come in the order of the text,
 * each name as written (NUL-terminated; attrlen its length).
 * The value bytes live only during the call.  fn returning non-zero stops
 * the walk and is returned.  EINVAL if text is not one JSON object (json-c
 * strict mode, whitespace after it allowed), ENOMEM.  (schema/entries.c)
 */
int schema_index_entries(const char *text, size_t len, const char *pk,
			 int (*fn)(const char *attr, size_t attrlen,
				   const uint8_t *val, size_t vallen,
				   void *arg),
			 void *arg);

/*
 * The same, for the canonical texts the daemon makes and stores, without
 * json-c: a scanner that reads them several times faster, gives the same
 * calls in the same order, and returns SCHEMA_QUICK_NO, having called fn
 * for nothing, on any text it is not sure to read as json-c does (a name
 * given twice, a name with a NUL, a lone surrogate, an integer out of
 * range, deep nesting, trailing bytes); then use schema_index_entries().
 * Other returns are fn's, or ENOMEM before any call.  (schema/scan.c)
 */
#define SCHEMA_QUICK_NO (-1)
int schema_index_entries_quick(const char *text, size_t len, const char *pk,
			       int (*fn)(const char *attr, size_t attrlen,
					 const uint8_t *val, size_t vallen,
					 void *arg),
			       void *arg);

/*
 * Length of the ordered value at the start of buf; 0 if malformed (an
 * unknown tag, number bytes the encoding never writes, such as -0.0, a bad
 * escape, a missing end, a cut at the wrong place, invalid UTF-8).
 */
size_t schema_value_len(const uint8_t *buf, size_t len);

/*
 * The directory name of an ordered value, NUL-terminated, in name
 * (SCHEMA_NAME_MAX + 1 bytes): null, true, false and numbers in their JSON
 * spelling; strings percent-encoded like keys, with the first byte encoded
 * when the text would read as one of the former; a value too long for a
 * name in the hashed form "<prefix>%~<sha256 hex>".  Returns the length,
 * or 0 (and an empty name) if val is malformed.
 *
 * Integers are written in decimal.  Other numbers get the shortest digits
 * that read back as the same double: positional ("2.5", "0.000001") unless
 * that needs more than six zeros after the point or the number is whole
 * (only past the integer types), then with an exponent ("1e-7",
 * "1.5e+300").  So a float name always holds '.' or 'e' and an integer
 * name never does; every other spelling ("03", "+3", "3.0", "1e2", "1E2",
 * ".5", "1e-07") is refused, naming the canonical one.
 *
 * The empty string is named "" (two double quotes).  A string's first
 * byte is encoded when the whole text would read as null, true, false, ""
 * or a number, taking "number" broadly as [+-]digits[.digits][e[+-]digits]
 * with optional parts ("3" is "%33", "true" is "%74rue", "03" is "%303",
 * "+1" is "%2B1").  So that ".." in a name always marks a range, the first
 * '.' of every ".." in a string is encoded ("a..b" is "a%2E.b"): no value
 * name holds "..", and none begins with '.'.  Nor does one end in
 * ".ndjson", ".csv" or ".json" (those names are the value's streams): the
 * '.' before such an ending is encoded ("x.json" is "x%2Ejson").
 *
 * A name longer than SCHEMA_NAME_MAX becomes "<at most 189 bytes of it,
 * never splitting an escape or a character, and without the first-byte
 * encoding above>%~<sha256 hex of the whole string>" (the digest is
 * schema_key_digest() of the string as a key).
 */
size_t schema_value_to_name(const uint8_t *val, size_t vallen, char *name);

/*
 * The ordered value a directory name stands for, into out
 * (SCHEMA_VALUE_MAX bytes); *outlen its length.  EINVAL with a message for
 * a name that is no value's canonical name (naming the canonical one where
 * there is one), a name holding "..", or one past SCHEMA_NAME_MAX.
 *
 * EAGAIN for the hashed form: the value cannot be read back from the name,
 * so out then holds the bytes every value of that name begins with (*outlen
 * their length): the caller looks at the index keys that begin with them
 * and takes the value whose schema_value_to_name() equals the name.
 * (schema_name_digest() reads record names only, ".json" included.)
 */
int schema_name_to_value(const char *name, size_t namelen, uint8_t *out,
			 size_t *outlen, struct schema_err *err);

/*
 * A range name "LO..HI" (inclusive; either end may be empty, ".." is
 * everything): returns 0 and the two ends' ordered values (an empty end
 * has length 0), ENOENT if the name holds no "..", EINVAL with a message
 * if an end is not a value name or is in the hashed form.  The last ".."
 * separates the ends: no value name holds "..", and a name may end in '.'
 * but never begins with one, so "a...b" runs from "a." to "b".
 */
int schema_name_to_range(const char *name, size_t namelen, uint8_t *lo,
			 size_t *lolen, uint8_t *hi, size_t *hilen,
			 struct schema_err *err);

/*
 * A record's text with attribute attr set to the ordered value val: where
 * attr is an array, the elements equal to old change; otherwise attr
 * becomes val.  *body is malloc'd JSON (not canonical: it goes through
 * schema_record_prepare like any write).  EINVAL with err for a value
 * whose whole text is not known (a long string's hashed form).
 * (schema/edit.c)
 */
int schema_record_set_value(const char *text, size_t len, const char *attr,
			    const uint8_t *old, size_t oldlen,
			    const uint8_t *val, size_t vallen, char **body,
			    size_t *bodylen, struct schema_err *err);

/* ---- the GraphQL schema subset (schema/sdl.c) ----------------------- */

enum schema_type {
	SCHEMA_T_ANY = 0,
	SCHEMA_T_ID,
	SCHEMA_T_STRING,
	SCHEMA_T_INT,
	SCHEMA_T_LONG,
	SCHEMA_T_FLOAT,
	SCHEMA_T_BOOLEAN,
	SCHEMA_T_DATE,
	SCHEMA_T_BIGINT,
};

/* One attribute of a type: "age: Int! @indexed". */
struct schema_attr {
	char *name;
	enum schema_type type;
	int list;	   /* [T] */
	int required;	   /* T! (for a list, the list itself) */
	int elem_required; /* [T!] */
	int pk;		   /* @primaryKey */
	int indexed;	   /* @indexed */
	int created;	   /* @createdTime */
	int updated;	   /* @updatedTime */
	int line, col;	   /* where it was written (1-based), 0 if printed */
};

/* One "type X @table(...)" block. */
struct schema_table {
	char *type_name; /* the GraphQL type name, e.g. Dog */
	char *table;	 /* @table(table: "dog"), else the type name */
	char *database;	 /* @table(database: "pets"), or NULL */
	int sealed;	 /* @sealed */
	struct schema_attr *attrs;
	size_t nattrs;
	int line, col;
};

struct schema_doc {
	struct schema_table *tables;
	size_t ntables;
};

/*
 * Parse schema text (HarperDB's GraphQL subset: "type T @table(...) { ...
 * }" blocks, the directives @table(table:, database:), @primaryKey,
 * @indexed, @createdTime, @updatedTime, @sealed, the scalar types above,
 * [T] lists, T! required, # comments).  On error EINVAL and err->msg is
 * "schema.graphql:LINE:COL: what", e.g. "schema.graphql:12:9: unknown type
 * \"Strng\"".  The doc is filled only on success; free it with
 * schema_doc_free().  Never crashes on any bytes.
 *
 * Lines are counted by '\n', columns in bytes from 1.  Commas, '\r' and a
 * leading UTF-8 byte order mark are ignored; comments may hold any bytes.
 * A table's line/col is its type name's, an attribute's its name's.
 *
 * Decided beyond GraphQL: every type needs @table and exactly one
 * @primaryKey field, of type ID, String, Int, Long or Any (storage keys are
 * integers or strings) and not a list.  @createdTime and @updatedTime take
 * Long, Int, Float or Date, at most one field each, never both on one
 * field.  Lists nest one level only.  Names are at most SCHEMA_NAME_MAX
 * bytes.  Strings take the escapes \" \\ \/ \b \f \n \r \t \uXXXX (with
 * surrogate pairs) and must decode to UTF-8 without NUL; table and database
 * names must be non-empty, hold no '/' and not begin with '.'.  A directive
 * given twice, an unknown @table argument, type names used twice, and two
 * types for one (database, table) are errors; a table without database: is
 * only compared with others without one.  Descriptions, field arguments,
 * default values and definitions other than "type" are refused.
 * ENOMEM (message "out of memory") when memory runs out.
 */
int schema_sdl_parse(const char *text, size_t len, struct schema_doc *doc,
		     struct schema_err *err);

/*
 * Print doc as schema text that schema_sdl_parse() reads back to an equal
 * doc: one block per table, two-space indent, directives in a fixed order.
 * malloc'd, NUL-terminated; *len its length (len may be NULL).  NULL on
 * ENOMEM.  The form is "type T @table(table: \"t\"[, database: \"d\"])
 * [@sealed] {", one "  name: Type @primaryKey @indexed @createdTime
 * @updatedTime" line per attribute (those that apply), "}", and a blank
 * line between blocks; table is always written.  Strings escape '"', '\\',
 * \n and \t by letter and other control bytes as \u00XX.  An empty doc
 * (or NULL) prints as "".  doc must be one the parser could have made.
 */
char *schema_sdl_print(const struct schema_doc *doc, size_t *len);

/* The spelling of a type ("Int"), or "?" for a value no type has. */
const char *schema_type_name(enum schema_type t);

/* Whether s[0..len) is a name the parser takes: [_A-Za-z][_0-9A-Za-z]*,
 * at most SCHEMA_NAME_MAX bytes. */
int schema_sdl_name_ok(const char *s, size_t len);

/* Free what doc holds and zero it; NULL and a zeroed doc are fine. */
void schema_doc_free(struct schema_doc *doc);

/*
 * store_check_indexes()'s entries function (schema/entries.c): schema is
 * a table's stored schema text (one "type" block, as the daemon keeps it)
 * or NULL for a dynamic table; ctx is a zeroed struct schema_cache, which
 * keeps the last schema parsed; free it with schema_cache_free().  A
 * stored schema that does not parse gives EINVAL, as a damaged record does.
 */
struct schema_cache {
	void *blob;
	size_t len;
	int bad;
	struct schema_doc doc;
};
int schema_check_entries(void *ctx, const void *schema, size_t schemalen,
			 const void *text, size_t len,
			 int (*fn)(const void *attr, size_t alen,
				   const void *val, size_t vlen, void *arg),
			 void *arg);
void schema_cache_free(struct schema_cache *c);

/* ---- declared tables (schema/check.c) ------------------------------- */

/*
 * A table with a schema holds records whose attributes have the declared
 * types.  The daemon first makes the canonical text as for any table
 * (schema_record_prepare() with pk the table's key attribute and dynamic
 * zero), then gives it to schema_table_record(), which checks it and fills
 * in what recordfs owns.
 */

/* The primary key attribute of t (the first with pk set), or NULL. */
const struct schema_attr *schema_table_pk(const struct schema_table *t);

/* Its name; a dynamic table's (t NULL) is SCHEMA_PK. */
const char *schema_table_pk_name(const struct schema_table *t);

/* The attribute of t named name[0..len) (no NUL needed), or NULL. */
const struct schema_attr *schema_table_attr(const struct schema_table *t,
					    const char *name, size_t len);

/*
 * Check and complete a record of declared table t.
 *
 * text/len: the canonical text schema_record_prepare() made with pk =
 * schema_table_pk(t)->name and dynamic = 0, so the key attribute is present
 * and first.  old/oldlen: the stored record being replaced, or NULL.
 *
 * now_ms >= 0 is a write.  The @createdTime attribute (if t has one) keeps
 * the replaced record's value where that is a valid value of its type, else
 * the body's where that is, else becomes now_ms; the @updatedTime attribute
 * becomes now_ms, whatever the body said.  So on a write the time
 * attributes never cause a refusal (a wrong value is replaced, not
 * refused), and one the text lacks is added at the end, in declaration
 * order.  now_ms < 0 only checks and normalizes (a new schema applied to
 * records already stored): the time attributes are checked like any other
 * and left as they are, and one that is missing or null is fine even when
 * declared with '!'.  An attribute that is both the primary key and a time
 * is only a key: the file name sets it.
 *
 * The rules, a JSON null counting as the attribute being absent:
 *   Any      any JSON value: the only type that takes an object, and
 *            [Any] the only list whose elements may be arrays
 *   ID       a string, or an integer within int64 (a key's range, so no
 *            uint64 past INT64_MAX)
 *   String   a string
 *   Int      an integer within int32 (3.0 and 1e2 are not integers)
 *   Long     an integer within int64 (json-c's uint64 values refused)
 *   Float    any JSON number, integers of either 64-bit range included
 *   Boolean  true or false
 *   BigInt   any JSON integer, or a string -?[0-9]+ (leading zeros and
 *            "-0" allowed), kept as written
 *   Date     ISO 8601 text: YYYY-MM-DD (midnight UTC), or that with 'T',
 *            't' or a space and HH:MM[:SS[.fraction]], then 'Z' or 'z',
 *            +HH:MM, +HHMM ('-' too), or no zone for UTC; or an integer of
 *            milliseconds since 1970.  Stored as the string
 *            "YYYY-MM-DDTHH:MM:SS.sssZ" in UTC; a fraction past
 *            milliseconds is cut, not rounded.  Refused: days and times
 *            that do not exist (2026-02-30, 25:00, 24:00, :60 leap
 *            seconds), offsets past 23:59, anything outside years
 *            0000-9999 once in UTC, and numbers that are not integers.
 *   [T]      an array whose elements each fit T, null elements allowed
 *            unless [T!]; a non-array is refused, even a single T
 *   T!       present and not null.  The primary key is always present
 *            (it comes from the file name) and must fit its type too: a
 *            String key refuses "2.json", whose key is the integer 2.
 *   @sealed  an attribute not declared is refused; other declared tables
 *            keep undeclared attributes of any value as written.
 *   times    Long, Int and Float get epoch milliseconds as an integer,
 *            Date the stored form.  An Int time holds milliseconds, which
 *            pass int32, so it is checked as a Long.
 * Attributes are checked in the order of the text, then the missing
 * required ones in declaration order, so the first error is stable.
 * outlen must not be NULL; err may be.
 *
 * On success *out is malloc'd canonical text exactly as
 * schema_record_prepare() prints it (2-space indent, the key first, the
 * other attributes in the order written, null values kept); the caller
 * frees it.  It is always printed afresh, so when nothing changed it holds
 * the same bytes as text: a caller that wants to skip a rewrite compares
 * (*outlen == len && memcmp).  Output fed back in gives the same bytes.
 *
 * Errors: EINVAL with err->msg one line naming the attribute (as a JSON
 * string), what was expected and the value (compact JSON, cut past 60
 * bytes with "..."):
 *   "age": expected Int, got 3.5
 *   "tags": expected [String], got "x"
 *   "tags"[2]: expected String, got 7
 *   "tags"[0]: expected String!, got null
 *   "name" is required (String!) and missing
 *   "name" is required (String!), got null
 *   "color" is not declared, and table "dog" is @sealed
 *   "born": expected Date (ISO 8601 text or epoch milliseconds), got 1.5
 *   "n": expected BigInt (an integer, or a string of digits), got "1e3"
 * EINVAL also when t has no primary key, or text is not a JSON object
 * holding the key attribute (a caller's mistake).  EFBIG when the result
 * would pass SCHEMA_RECORD_MAX (dates grow: 0 becomes 26 bytes), ENOMEM.
 * *out is NULL on error.  A stored old that does not parse counts as
 * holding no creation time.
 */
int schema_table_record(const struct schema_table *t, const char *text,
			size_t len, const char *old, size_t oldlen,
			int64_t now_ms, char **out, size_t *outlen,
			struct schema_err *err);

/*
 * The JSON Schema (draft 2020-12) of table t's record bodies, malloc'd and
 * NUL-terminated, printed like a record (2-space indent, "{}" when empty)
 * and ending in a newline; *len its length (len may be NULL).  NULL on
 * ENOMEM.
 *
 * The form: "$schema", "title" (the table name), "type": "object",
 * "properties" (one per attribute, in declaration order), "required" (the
 * '!' attributes but the primary key, which the file name supplies, and the
 * times, which recordfs sets; [] when none) and, for a @sealed table,
 * "additionalProperties": false.  Per type: ID {"type": ["string",
 * "integer"]}, Int and Long "integer", Float "number", String "string",
 * Boolean "boolean", each integer (ID's too) with the "minimum" and
 * "maximum" of its range; Date an "anyOf" of strings with "format"
 * "date-time" and "date" and an integer (milliseconds, bounded to years
 * 0000-9999) with a "description" of the forms taken; BigInt an "anyOf" of
 * an integer and a string with "pattern" "^-?[0-9]+$"; Any {}.  A list is
 * {"type": "array", "items": ...}, its items allowing null unless [T!].  An
 * attribute that is neither required nor the key also allows null ("null"
 * in its "type" list, or {"type": "null"} in its "anyOf"), and so does
 * every time, which a write replaces.  An Int time has a Long's bounds.
 * Times add "readOnly": true and a "$comment".  Times aside (a write
 * replaces whatever the body holds there), the schema admits a little more
 * than schema_table_record(), never less: JSON Schema's "integer" takes
 * 3.0, which Int and Long refuse, and "format" only annotates, so a Date
 * string such as "2026-02-30" passes it.
 */
char *schema_table_json_schema(const struct schema_table *t, size_t *len);

/* ---- streams: many records as one text (schema/stream.c) --------- */

enum { SCHEMA_FMT_NDJSON, SCHEMA_FMT_CSV, SCHEMA_FMT_JSON };

/* The format a name's ending gives (".ndjson", ".csv", ".json"), with
 * *stemlen the length before it; -1 for none. */
int schema_stream_fmt(const char *name, size_t len, size_t *stemlen);

/* A growing text; p is NUL-terminated once anything was added. */
struct schema_buf {
	char *p;
	size_t len, cap;
};
/* Room for n more bytes and a NUL after them: ENOMEM or 0. */
int schema_buf_reserve(struct schema_buf *b, size_t n);
int schema_buf_add(struct schema_buf *b, const void *s, size_t n);
void schema_buf_free(struct schema_buf *b);
/* Add s (len bytes, UTF-8; NUL and control characters escaped) as a JSON
 * string literal; a key as its JSON value.  ENOMEM or 0. */
int schema_buf_json_str(struct schema_buf *b, const char *s, size_t len);
int schema_buf_key(struct schema_buf *b, const struct schema_key *k);

/*
 * Call fn with the name of each top-level attribute of a canonical text,
 * in order (the bytes of the name, not NUL-terminated).  fn's non-zero
 * return stops the walk and is returned; EINVAL for a text that is no
 * JSON object.
 */
int schema_text_names(const char *text, size_t len,
		      int (*fn)(const char *name, size_t nl, void *arg),
		      void *arg);

/*
 * CSV (RFC 4180, CRLF line ends): the header row of the ncols attribute
 * names cols, and one record's row from its canonical text, a cell per
 * column (see stream.c for how a value becomes a cell).  Appended to b.
 * ENOMEM; EIO for a text that is no JSON object.
 */
int schema_csv_header(struct schema_buf *b, char *const *cols, size_t ncols);
int schema_csv_row(struct schema_buf *b, const char *canon, size_t len,
		   char *const *cols, size_t ncols);

/*
 * Reading a stream written to a table: feed its bytes in order, and fn is
 * called once per record, with the record as one JSON object's text
 * (body, len: valid during the call), its key when the record holds the
 * table's primary key attribute (NULL when not: the caller makes one),
 * and the line of the stream's text it begins on (from 1).  ts is the
 * table's declared schema (the key attribute's name, and how a CSV cell
 * reads), NULL for a dynamic table.  NDJSON is an object per line (blank
 * lines skipped), JSON one array of objects, CSV a header row and a row
 * per record.
 *
 * A bad record fails the feed that completes it: EINVAL (EFBIG past
 * SCHEMA_RECORD_MAX) with err's message "line N: why", and every later
 * feed and the end return the same.  fn's non-zero return stops the feed
 * and is returned with the message fn left in err.  schema_in_end() says
 * whether the text ends where a stream may (a last line without its
 * newline is a record; an array never closed is refused).
 */
struct schema_in;
typedef int (*schema_in_fn)(void *arg, const char *body, size_t len,
			    const struct schema_key *key, size_t line);
int schema_in_new(int fmt, const struct schema_table *ts, schema_in_fn fn,
		  void *arg, struct schema_in **out);
int schema_in_feed(struct schema_in *d, const char *buf, size_t len,
		   struct schema_err *err);
int schema_in_end(struct schema_in *d, struct schema_err *err);
/* A writer closed: an NDJSON line without its newline that is a whole
 * record is taken as one (only white space may follow it on its line).
 * 0, or the refusal of that record. */
int schema_in_cut(struct schema_in *d, struct schema_err *err);
/* Whether the text so far may end here: no record, line, row or array
 * is open (a stream written in parts, one writer after another, may be
 * stored at each such place). */
int schema_in_at_end(const struct schema_in *d);
/* Records handed to fn so far. */
size_t schema_in_records(const struct schema_in *d);
void schema_in_free(struct schema_in *d);

#endif
