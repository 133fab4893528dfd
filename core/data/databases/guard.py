"""The SQL guard: :func:`check_select` refuses early what is not one read-only ``SELECT``.

It is a courtesy, not the protection: a hand-written lexer can never read SQL exactly as
every database does, so the databases themselves keep reading read-only
(:mod:`~core.data.databases.connecting`). The guard gives a clear message before anything
is sent for the usual mistakes (a second statement, a write keyword, a call of a function
with side effects).

A small lexer (:func:`_mask_sql`) blanks out comments, string literals and quoted names
under SQLite's or PostgreSQL/DuckDB's rules, reading identifiers as PostgreSQL does (any
character from U+0080 up and ``$`` inside a name, so ``€$$`` is a name, not a quote), and
decoding ``U&"..."`` names; the checks then look at what is left.
"""

from __future__ import annotations

import re

from core.data.databases.errors import QueryNotAllowedError

# Words refused anywhere outside string literals, comments and "quoted identifiers". A
# single SELECT cannot contain most of them; they are listed so that a write hidden in a
# CTE (PostgreSQL's ``WITH d AS (DELETE ...)``), ``SELECT ... INTO new_table`` or a
# statement smuggled past the first-word check is refused with a clear reason.
FORBIDDEN_WORDS = frozenset({
    "ALTER", "ANALYZE", "ATTACH", "BEGIN", "CALL", "CHECKPOINT", "COMMIT", "COPY", "CREATE",
    "DEALLOCATE", "DECLARE", "DELETE", "DETACH", "DROP", "EXEC", "EXECUTE", "EXPORT", "GRANT",
    "IMPORT", "INSERT", "INSTALL", "INTO", "LISTEN", "LOAD", "LOCK", "MERGE", "NOTIFY",
    "PRAGMA", "PREPARE", "REFRESH", "REINDEX", "RENAME", "RESET", "REVOKE", "ROLLBACK",
    "SAVEPOINT", "SET", "TRUNCATE", "UNLISTEN", "UPDATE", "UPSERT", "VACUUM",
})
# Functions with side effects or access to the server's files, refused when called.
FORBIDDEN_FUNCTIONS = frozenset({
    # PostgreSQL
    "cursor_to_xml", "dblink", "dblink_connect", "dblink_connect_u", "dblink_exec",
    "dblink_get_result", "dblink_open", "dblink_send_query", "lo_create", "lo_export",
    "lo_from_bytea", "lo_get", "lo_import", "lo_open", "lo_put", "lo_truncate", "lo_unlink",
    "loread", "lowrite", "nextval", "pg_advisory_lock", "pg_advisory_xact_lock",
    "pg_cancel_backend", "pg_create_restore_point", "pg_file_rename", "pg_file_sync",
    "pg_file_unlink", "pg_file_write", "pg_logical_emit_message", "pg_ls_archive_statusdir",
    "pg_ls_dir", "pg_ls_logdir", "pg_ls_tmpdir", "pg_ls_waldir", "pg_notify", "pg_promote",
    "pg_read_binary_file", "pg_read_file", "pg_reload_conf", "pg_rotate_logfile", "pg_sleep",
    "pg_sleep_for", "pg_sleep_until", "pg_stat_file", "pg_switch_wal", "pg_terminate_backend",
    "query_to_xml", "query_to_xml_and_xmlschema", "query_to_xmlschema", "set_config",
    "setval",
    # SQLite
    "load_extension", "readfile", "writefile", "edit",
    # DuckDB
    "getenv", "glob", "parquet_metadata", "parquet_scan", "parquet_schema", "query",
    "query_table", "read_blob", "read_csv", "read_csv_auto", "read_json", "read_json_auto",
    "read_ndjson", "read_ndjson_auto", "read_parquet", "read_text", "read_xlsx", "sniff_csv",
    "postgres_scan", "sqlite_scan",
})
# PostgreSQL's identifiers: a letter, _ or any character from U+0080 (every byte of a
# multi-byte UTF-8 character is >= 0x80), then also digits and $.
_IDENT_START = "A-Za-z_\u0080-\U0010ffff"
_DOLLAR_TAG = re.compile(rf"\$([{_IDENT_START}][{_IDENT_START}0-9]*)?\$")
_IDENTIFIER = re.compile(rf"[{_IDENT_START}][{_IDENT_START}0-9$]*")
_WORD = re.compile(rf"[{_IDENT_START}][{_IDENT_START}0-9$]*")
_CALL = re.compile(rf"([{_IDENT_START}][{_IDENT_START}0-9$]*)\s*\(")
_OPEN_PAREN = re.compile(r"\s*\(")
_UESCAPE = re.compile(r"\s*UESCAPE\s*'(.)'", re.IGNORECASE)


def check_select(query: str, backend: str | None = None) -> str:
    """Refuse anything but one read-only SELECT; return it without a trailing ``;``.

    Accepted: one statement starting with ``SELECT`` or ``WITH`` (a CTE whose main
    statement is a SELECT), optionally wrapped in parentheses and ended by one ``;``.
    Refused: several statements, and any word of :data:`FORBIDDEN_WORDS` (INSERT, UPDATE,
    DELETE, DROP, CREATE, ALTER, ATTACH, COPY, PRAGMA, CALL, INTO, SET, ...) or call of
    :data:`FORBIDDEN_FUNCTIONS` (quoted or not) anywhere outside string literals, comments
    and ``"quoted identifiers"`` (so a column called ``"update"`` is fine when quoted).

    Args:
        query: The SQL as typed.
        backend: ``"sqlite"``, ``"postgresql"`` or ``"duckdb"``: how comments nest and
            whether ``$$`` quotes text. None checks the query under both sets of rules, so
            a comment or quote read differently by one engine cannot hide a statement.

    Returns:
        The query, with a final ``;`` and trailing blanks removed.

    Raises:
        QueryNotAllowedError: The query is empty, unterminated, or not a single SELECT.
    """
    if backend is None:
        rules = [False, True]
    else:
        rules = [backend == "sqlite"]
    cleaned = ""
    for sqlite_rules in rules:
        masked, quoted_names = _mask_sql(query, sqlite_rules=sqlite_rules)
        code = _check_masked(masked, quoted_names)
        cleaned = cleaned or query[:len(code)].rstrip()
    return cleaned


def _check_masked(masked: str, quoted_names: list[tuple[int, str]]) -> str:
    """Apply :func:`check_select`'s rules to masked SQL; return the code without ``;``."""
    code = masked.rstrip()
    while code.endswith(";"):  # "SELECT 1;" (or ";;") is still one statement
        code = code[:-1].rstrip()
    if not code.strip():
        raise QueryNotAllowedError("The query is empty. Type a SELECT, e.g. "
                                   "SELECT * FROM loans WHERE amount > 1000.")
    if ";" in code:
        raise QueryNotAllowedError(
            "Only one statement can run, and this query has a ';' separating several. "
            "Remove everything after the first statement (a SELECT)."
        )
    first = _WORD.match(code.lstrip(" \t\r\n("))
    first_word = first.group(0).upper() if first else ""
    if first_word not in ("SELECT", "WITH"):
        shown = first_word or "something else"
        raise QueryNotAllowedError(
            f"Only SELECT queries can run here, and this one starts with {shown}. Reading "
            "never changes the database: write a SELECT (or WITH ... SELECT)."
        )
    for match in _WORD.finditer(code):
        word = match.group(0)
        if word.upper() in FORBIDDEN_WORDS:
            raise QueryNotAllowedError(
                f"The query contains {word.upper()}, which can change the database or run "
                "other statements, so it is refused: only a plain SELECT can run. If "
                f"{word} is a column or table name, write it in double quotes: \"{word}\"."
            )
    calls = [(match.group(1), match.end()) for match in _CALL.finditer(code)]
    calls += [(name, end) for end, name in quoted_names
              if _OPEN_PAREN.match(code, end) is not None]
    for name, _ in calls:
        if name.lower() in FORBIDDEN_FUNCTIONS:
            raise QueryNotAllowedError(
                f"The query calls {name}(), which has side effects or reads the server's "
                "files, so it is refused: only a plain SELECT over tables can run."
            )
    return code


def _mask_sql(query: str, *, sqlite_rules: bool) -> tuple[str, list[tuple[int, str]]]:
    """Blank out comments and the inside of literals/quoted names, keeping every offset.

    Args:
        query: The SQL.
        sqlite_rules: SQLite's reading: ``/* */`` comments do not nest and ``$`` does not
            quote text. Otherwise PostgreSQL's and DuckDB's (nesting, ``$tag$...$tag$``).

    Returns:
        The masked text, and each double-quoted or backquoted name as (end offset, name).

    Raises:
        QueryNotAllowedError: A string, quoted name or comment is never closed.
    """
    out = list(query)
    names: list[tuple[int, str]] = []
    i, n = 0, len(query)

    def blank(start: int, stop: int) -> None:
        for k in range(start, stop):
            if out[k] not in "\r\n":
                out[k] = " "

    while i < n:
        char, pair = query[i], query[i:i + 2]
        identifier = _IDENTIFIER.match(query, i)
        if identifier is not None:
            # A whole name at once: a $ inside it never starts a quote (PostgreSQL's rule).
            i = identifier.end()
        elif pair == "--":
            stop = query.find("\n", i)
            stop = n if stop == -1 else stop
            blank(i, stop)
            i = stop
        elif pair == "/*":
            depth, j = 1, i + 2
            while j < n and depth:
                if query.startswith("/*", j) and not sqlite_rules:
                    depth, j = depth + 1, j + 2
                elif query.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            if depth:
                raise QueryNotAllowedError("The query has a /* comment that is never closed "
                                           "with */. Close it or remove it.")
            blank(i, j)
            i = j
        elif char in "'\"`":
            escapes = char == "'" and i > 0 and query[i - 1] in "eE" and (
                i < 2 or not (query[i - 2].isalnum() or query[i - 2] == "_"))
            j = i + 1
            while j < n:
                if escapes and query[j] == "\\":
                    j += 2
                    continue
                if query[j] == char:
                    if query[j + 1:j + 2] == char:  # doubled quote inside
                        j += 2
                        continue
                    break
                j += 1
            if j >= n:
                what = {"'": "text in single quotes", '"': "name in double quotes",
                        "`": "name in backquotes"}[char]
                raise QueryNotAllowedError(f"The query has {what} that is never closed. "
                                           f"Add the closing {char}.")
            if char != "'":
                name, end = query[i + 1:j].replace(char * 2, char), j + 1
                if char == '"' and not sqlite_rules and query[i - 2:i].upper() == "U&":
                    escape = _UESCAPE.match(query, j + 1)
                    name = _unicode_name(name, escape.group(1) if escape else "\\")
                    end = escape.end() if escape else end
                names.append((end, name))
            blank(i + 1, j)
            i = j + 1
        elif char == "$" and not sqlite_rules:
            tag = _DOLLAR_TAG.match(query, i)
            if tag is None:
                i += 1
                continue
            stop = query.find(tag.group(0), tag.end())
            if stop == -1:
                raise QueryNotAllowedError(f"The query has text quoted with {tag.group(0)} "
                                           "that is never closed.")
            out[i] = "'"
            blank(i + 1, stop + len(tag.group(0)) - 1)
            out[stop + len(tag.group(0)) - 1] = "'"
            i = stop + len(tag.group(0))
        else:
            i += 1
    return "".join(out), names


def _unicode_name(text: str, escape: str) -> str:
    r"""Decode a ``U&"..."`` name: ``\XXXX``, ``\+XXXXXX`` and a doubled escape character."""
    out, i = [], 0
    while i < len(text):
        if text[i] == escape:
            if text[i + 1:i + 2] == escape:
                out.append(escape)
                i += 2
                continue
            digits = 6 if text[i + 1:i + 2] == "+" else 4
            start = i + 2 if digits == 6 else i + 1
            code = text[start:start + digits]
            if len(code) == digits and all(c in "0123456789abcdefABCDEF" for c in code):
                out.append(chr(min(int(code, 16), 0x10FFFF)))
                i = start + digits
                continue
        out.append(text[i])
        i += 1
    return "".join(out)
