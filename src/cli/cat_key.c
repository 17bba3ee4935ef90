/* cat_key.c: `twofold cat` (decoded objects as JSON) and `twofold key`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "repo/repo.h"
#include "util/json.h"
#include "util/util.h"

static void config_json(struct json *j, const struct config *c)
{
	json_begin_obj(j);
	json_ku64(j, "seq", c->seq);
	json_khex(j, "repo_id", c->repo_id, sizeof c->repo_id);
	json_khex(j, "root_key", c->root_pk, PK_LEN);
	json_key(j, "created");
	json_time(j, c->created_ns);
	json_key(j, "chunker");
	json_begin_obj(j);
	json_ku64(j, "min", c->chunk_min);
	json_ku64(j, "avg", c->chunk_avg);
	json_ku64(j, "max", c->chunk_max);
	json_end_obj(j);
	json_ku64(j, "pack_size", c->pack_size);
	json_kstr(j, "compression", c->compression ? "zstd" : "none");
	json_key(j, "level");
	json_i64(j, c->level);
	json_ku64(j, "epoch", c->epoch);
	json_key(j, "epochs");
	json_begin_arr(j);
	for (uint32_t i = 0; i < c->n_epochs; i++) {
		json_begin_obj(j);
		json_ku64(j, "number", c->epochs[i].number);
		json_khex(j, "public_key", c->epochs[i].pk, PK_LEN);
		json_kstr(j, "state", c->epochs[i].state == EPOCH_ACTIVE ? "active" : "retired");
		json_end_obj(j);
	}
	json_end_arr(j);
	json_key(j, "keys");
	json_begin_arr(j);
	for (uint32_t i = 0; i < c->n_keys; i++) {
		const struct cfg_key *k = &c->keys[i];

		json_begin_obj(j);
		json_khex(j, "id", k->slot_id, SLOT_ID_LEN);
		json_kstr(j, "role", role_name(k->role));
		json_kstr(j, "name", k->name);
		json_key(j, "created");
		json_time(j, k->created_ns);
		if (k->has_signer)
			json_khex(j, "signer", k->signer_pk, PK_LEN);
		json_key(j, "revoked");
		json_bool(j, k->revoked);
		if (k->revoked) {
			json_key(j, "allowed_snapshots");
			json_begin_arr(j);
			for (uint32_t a = 0; a < k->n_allowed; a++)
				json_hex(j, k->allowed[a], ID_LEN);
			json_end_arr(j);
		}
		json_end_obj(j);
	}
	json_end_arr(j);
	json_end_obj(j);
}

static void node_json(struct json *j, const struct node *n)
{
	static const char *types[] = { "?", "file", "dir", "symlink", "fifo", "chardev", "blockdev", "socket" };

	json_begin_obj(j);
	json_key(j, "name");
	json_strn(j, n->name, n->name_len);
	json_kstr(j, "type", n->type < 8 ? types[n->type] : "?");
	json_ku64(j, "mode", n->mode);
	json_ku64(j, "uid", n->uid);
	json_ku64(j, "gid", n->gid);
	json_kstr(j, "user", n->user);
	json_kstr(j, "group", n->group);
	json_key(j, "mtime");
	json_time(j, n->mtime_ns);
	json_key(j, "atime");
	json_time(j, n->atime_ns);
	json_key(j, "ctime");
	json_time(j, n->ctime_ns);
	json_ku64(j, "size", n->size);
	if (n->nlink > 1 && n->type == NODE_FILE) {
		json_ku64(j, "nlink", n->nlink);
		json_ku64(j, "dev", n->dev);
		json_ku64(j, "ino", n->ino);
	}
	if (n->type == NODE_CHAR || n->type == NODE_BLOCK)
		json_ku64(j, "rdev", n->rdev);
	if (n->type == NODE_SYMLINK) {
		json_key(j, "link");
		json_strn(j, n->link, n->link_len);
	}
	if (n->flags & NODE_CHANGED) {
		json_key(j, "changed_while_read");
		json_bool(j, 1);
	}
	if (n->n_xattrs) {
		json_key(j, "xattrs");
		json_begin_obj(j);
		for (uint32_t i = 0; i < n->n_xattrs; i++) {
			json_key(j, n->xattrs[i].name);
			json_hex(j, n->xattrs[i].value, n->xattrs[i].len);
		}
		json_end_obj(j);
	}
	if (n->type == NODE_FILE) {
		json_key(j, "content");
		json_begin_arr(j);
		for (uint32_t i = 0; i < n->n_chunks; i++)
			json_hex(j, n->chunks[i], ID_LEN);
		json_end_arr(j);
	}
	if (n->type == NODE_DIR)
		json_khex(j, "subtree", n->subtree, ID_LEN);
	json_end_obj(j);
}

static int parse_id(const char *s, uint8_t id[ID_LEN])
{
	if (hex_decode(s, id, ID_LEN) != 0) {
		errmsg("%s is not a full 64-digit hex ID", s);
		return -1;
	}
	return 0;
}

int cmd_cat(const struct globals *g, int argc, char **argv)
{
	struct repo *r;
	struct json j;
	int rc = EXIT_FATAL;

	if (argc < 2 || (strcmp(argv[1], "config") != 0 && argc != 3) ||
	    (strcmp(argv[1], "config") == 0 && argc != 2)) {
		errmsg("usage: twofold cat config | snapshot ID | tree ID | index ID");
		return EXIT_FATAL;
	}
	if ((r = cli_open_repo(g)) == NULL)
		return EXIT_FATAL;
	json_init(&j, stdout);
	if (strcmp(argv[1], "config") == 0) {
		config_json(&j, repo_config(r));
		json_end(&j);
		rc = 0;
	} else if (strcmp(argv[1], "snapshot") == 0) {
		struct snap_list l;
		const struct snap_item *it;

		if (repo_list_snapshots(r, &l) == 0) {
			if (repo_find_snapshot(argv[2], &l, &it) == 0) {
				const struct snapshot *s = &it->s;

				json_begin_obj(&j);
				json_khex(&j, "id", it->id, ID_LEN);
				json_key(&j, "time");
				json_time(&j, s->time_ns);
				json_kstr(&j, "hostname", s->hostname);
				json_kstr(&j, "username", s->username);
				json_key(&j, "paths");
				json_begin_arr(&j);
				for (uint32_t i = 0; i < s->n_paths; i++)
					json_str(&j, s->paths[i]);
				json_end_arr(&j);
				json_key(&j, "tags");
				json_begin_arr(&j);
				for (uint32_t i = 0; i < s->n_tags; i++)
					json_str(&j, s->tags[i]);
				json_end_arr(&j);
				json_khex(&j, "tree", s->tree, ID_LEN);
				json_ku64(&j, "files", s->files);
				json_ku64(&j, "dirs", s->dirs);
				json_ku64(&j, "bytes", s->bytes);
				json_ku64(&j, "added_bytes", s->added_bytes);
				json_key(&j, "unreadable");
				json_begin_arr(&j);
				for (uint32_t i = 0; i < s->n_unreadable; i++)
					json_str(&j, s->unreadable[i]);
				json_end_arr(&j);
				json_key(&j, "changed_while_read");
				json_begin_arr(&j);
				for (uint32_t i = 0; i < s->n_changed; i++)
					json_str(&j, s->changed[i]);
				json_end_arr(&j);
				json_key(&j, "copies");
				json_begin_arr(&j);
				for (uint32_t i = 0; i < s->n_copies; i++)
					json_str(&j, s->copies[i]);
				json_end_arr(&j);
				json_khex(&j, "signer_key", s->signer_slot, SLOT_ID_LEN);
				json_khex(&j, "signer_public_key", s->signer_pk, PK_LEN);
				json_kstr(&j, "program", s->program);
				json_end_obj(&j);
				json_end(&j);
				rc = 0;
			}
			snap_list_free(&l);
		}
	} else if (strcmp(argv[1], "tree") == 0) {
		uint8_t id[ID_LEN];
		struct tree t;

		if (parse_id(argv[2], id) == 0 && repo_need(r, CAN_OWNER | CAN_READ, "read trees") == 0 &&
		    repo_load_index(r) >= 0 && repo_load_tree(r, id, &t) == 0) {
			json_begin_arr(&j);
			for (uint32_t i = 0; i < t.n; i++)
				node_json(&j, &t.nodes[i]);
			json_end_arr(&j);
			json_end(&j);
			tree_free(&t);
			rc = 0;
		}
	} else if (strcmp(argv[1], "index") == 0) {
		uint8_t id[ID_LEN];
		struct index_body b;
		char name[96];

		if (parse_id(argv[2], id) == 0 && repo_need(r, CAN_OWNER | CAN_READ, "read indexes") == 0) {
			snprintf(name, sizeof name, "index/%s", argv[2]);
			if (repo_decode_index(r, name, &b) == 0) {
				json_begin_obj(&j);
				json_key(&j, "packs");
				json_begin_arr(&j);
				for (uint32_t i = 0; i < b.n_packs; i++)
					json_hex(&j, b.packs[i], ID_LEN);
				json_end_arr(&j);
				json_key(&j, "blobs");
				json_begin_arr(&j);
				for (uint32_t i = 0; i < b.n; i++) {
					const struct index_loc *l = &b.locs[i];

					json_begin_obj(&j);
					json_khex(&j, "id", l->e.id, ID_LEN);
					json_kstr(&j, "type", l->e.type == BLOB_TREE ? "tree" : "data");
					json_ku64(&j, "pack", l->pack);
					json_ku64(&j, "offset", l->e.offset);
					json_ku64(&j, "length", l->e.length);
					json_ku64(&j, "raw_length", l->e.raw_length);
					json_kstr(&j, "compression", l->e.comp == COMP_ZSTD ? "zstd" : "none");
					json_end_obj(&j);
				}
				json_end_arr(&j);
				json_end_obj(&j);
				json_end(&j);
				index_body_free(&b);
				rc = 0;
			}
		}
	} else {
		errmsg("cat: unknown object kind %s (config, snapshot, tree, index)", argv[1]);
	}
	return cli_close_repo(g, r, rc, 0);
}

static int new_pass(const struct globals *g, const char *file, struct pass *pw)
{
	struct globals ng = *g;

	if (file)
		return pass_from_file(file, pw);
	/* never reuse the repository's passphrase sources for the new one */
	ng.password_file = NULL;
	ng.password_command = NULL;
	if (getenv("TWOFOLD_PASSWORD_FILE")) {
		errmsg("give the new passphrase with --new-password-file FILE");
		return -1;
	}
	return pass_get(&ng, 1, "New passphrase: ", pw);
}

int cmd_key(const struct globals *g, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "", *newfile = NULL, *name = NULL, *target = NULL;
	enum key_role role = ROLE_OWNER;
	struct repo *r;
	struct pass pw = { 0 };
	int rc = EXIT_FATAL;

	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];

		if (strncmp(a, "--new-password-file", 19) == 0) {
			newfile = a[19] == '=' ? a + 20 : (i + 1 < argc ? argv[++i] : NULL);
			if (newfile == NULL) {
				errmsg("--new-password-file needs a value");
				return EXIT_FATAL;
			}
		} else if (strncmp(a, "--name", 6) == 0 && (a[6] == '\0' || a[6] == '=')) {
			name = a[6] == '=' ? a + 7 : (i + 1 < argc ? argv[++i] : NULL);
			if (name == NULL) {
				errmsg("--name needs a value");
				return EXIT_FATAL;
			}
		} else if (strcmp(a, "--write-only") == 0) {
			role = ROLE_WRITE;
		} else if (strcmp(a, "--read-only") == 0) {
			role = ROLE_READ;
		} else if (a[0] != '-' && target == NULL) {
			target = a;
		} else {
			errmsg("key %s: unexpected argument %s", sub, a);
			return EXIT_FATAL;
		}
	}
	if (strcmp(sub, "add") && strcmp(sub, "list") && strcmp(sub, "remove") && strcmp(sub, "passwd") &&
	    strcmp(sub, "revoke") && strcmp(sub, "rotate")) {
		errmsg("usage: twofold key add [--write-only|--read-only] [--name N] "
		    "[--new-password-file F] | key list | key remove ID | key revoke ID | "
		    "key passwd [--new-password-file F] | key rotate");
		return EXIT_FATAL;
	}
	if ((strcmp(sub, "remove") == 0 || strcmp(sub, "revoke") == 0) && target == NULL) {
		errmsg("key %s: name the key ID (see 'twofold key list')", sub);
		return EXIT_FATAL;
	}
	if ((r = cli_open_repo(g)) == NULL)
		return EXIT_FATAL;
	if (strcmp(sub, "add") == 0) {
		uint8_t slot[SLOT_ID_LEN];
		char hex[2 * SLOT_ID_LEN + 1];

		if (repo_need(r, CAN_OWNER, "add keys") == 0 && new_pass(g, newfile, &pw) == 0 &&
		    repo_key_add(r, role, name ? name : role_name((int)role), pw.p, pw.n, slot) == 0) {
			hex_encode(slot, SLOT_ID_LEN, hex);
			info(1, "added %s key %s", role_name((int)role), hex);
			printf("%s\n", hex);
			rc = 0;
		}
	} else if (strcmp(sub, "passwd") == 0) {
		if (new_pass(g, newfile, &pw) == 0 && repo_key_passwd(r, pw.p, pw.n) == 0) {
			info(1, "passphrase changed");
			rc = 0;
		}
	} else if (strcmp(sub, "revoke") == 0) {
		uint8_t slot[SLOT_ID_LEN];
		uint32_t kept = 0;
		char hex[2 * SLOT_ID_LEN + 1];

		if (repo_key_revoke(r, target, slot, &kept) == 0) {
			hex_encode(slot, SLOT_ID_LEN, hex);
			info(1, "key %s revoked; the %lu snapshot(s) it made until now stay valid, "
			    "anything it signs from now on is rejected", hex, (unsigned long)kept);
			rc = 0;
		}
	} else if (strcmp(sub, "rotate") == 0) {
		uint32_t epoch;

		if (repo_key_rotate(r, &epoch) == 0) {
			info(1, "new data-key epoch %u: everything written from now on is sealed to "
			    "it; run 'twofold rekey' to re-encrypt older data and retire older epochs",
			    epoch);
			printf("%u\n", epoch);
			rc = 0;
		}
	} else if (strcmp(sub, "remove") == 0) {
		if (repo_key_remove(r, target) == 0) {
			info(1, "key %s removed; snapshots it made stay valid", target);
			rc = 0;
		}
	} else {
		struct key_item *v;
		size_t n;

		if (repo_key_list(r, &v, &n) == 0) {
			struct json j;

			json_init(&j, stdout);
			if (g->json)
				json_begin_arr(&j);
			else
				printf(" %-32s  %-10s  %-19s  %s\n", "ID", "Role", "Created", "Name");
			for (size_t i = 0; i < n; i++) {
				char hex[2 * SLOT_ID_LEN + 1], t[32];
				const char *kn = v[i].cfg ? v[i].cfg->name : "(not in config)";

				if (v[i].damaged) {
					if (!g->json)
						printf(" %-32s  damaged key slot object %s\n", "?", v[i].object);
					continue;
				}

				hex_encode(v[i].slot_id, SLOT_ID_LEN, hex);
				if (g->json) {
					json_begin_obj(&j);
					json_kstr(&j, "id", hex);
					json_kstr(&j, "role", role_name(v[i].role));
					json_kstr(&j, "name", kn);
					json_key(&j, "revoked");
					json_bool(&j, v[i].cfg != NULL && v[i].cfg->revoked);
					json_key(&j, "created");
					json_time(&j, v[i].created_ns);
					json_key(&j, "current");
					json_bool(&j, v[i].current);
					json_kstr(&j, "object", v[i].object);
					json_end_obj(&j);
				} else {
					printf("%s%-32s  %-10s  %-19s  %s%s\n", v[i].current ? "*" : " ", hex,
					    role_name(v[i].role), fmt_time(v[i].created_ns, t, sizeof t), kn,
					    v[i].cfg != NULL && v[i].cfg->revoked ? " (revoked)" : "");
				}
			}
			if (g->json) {
				json_end_arr(&j);
				json_end(&j);
			}
			free(v);
			rc = 0;
		}
	}
	pass_free(&pw);
	return cli_close_repo(g, r, rc, strcmp(sub, "list") != 0);
}
