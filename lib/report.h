/* The report model every checking command shares (README.md, Hacking;
 * syncctl(1), OUTPUT FORMATS): a list of checks {id, status, message, hint,
 * details, metrics, duration_ms} and its renderers. */
#ifndef SC_REPORT_H
#define SC_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

typedef enum {
	SC_CHECK_OK = 0,
	SC_CHECK_SKIP,
	SC_CHECK_WARN,
	SC_CHECK_FAIL,
} sc_check_status;

/* A figure a check measured, for monitoring: Nagios perfdata and
 * Prometheus gauges. `name` is in base units, e.g. "lag_bytes",
 * "age_seconds", "rows". */
typedef struct sc_metric {
	char *name;
	double value;
	const char *uom;  /* Nagios unit: "B", "s", "c" or "" */
} sc_metric;

typedef struct sc_check {
	char *id;
	sc_check_status status;
	char *message;
	char *hint;       /* the concrete fix, or NULL */
	cJSON *details;   /* owned; any JSON value, or NULL */
	double duration_ms;
	const char *group; /* doctor's group (static string), or NULL */
	sc_metric *metrics;
	size_t nmetrics;
} sc_check;

typedef struct sc_report {
	sc_check *checks;
	size_t n, cap;
	double started_ms;
	double mark_ms;   /* start of the check being measured */
	cJSON *extra;     /* owned object: more top-level fields of the JSON document */
} sc_report;

void sc_report_init(sc_report *r);
void sc_report_free(sc_report *r);
/* Starts timing the next check. */
void sc_report_mark(sc_report *r);
/* Adds a check; its duration is the time since the last mark. */
sc_check *sc_report_add(sc_report *r, const char *id, sc_check_status status,
			const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void sc_check_set_hint(sc_check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Takes ownership of details. */
void sc_check_set_details(sc_check *c, cJSON *details);
/* Adds a measured figure (see sc_metric). */
void sc_check_metric(sc_check *c, const char *name, double value, const char *uom);

/* Moves every check of src to the end of dst, tagged with group. */
void sc_report_append(sc_report *dst, sc_report *src, const char *group);

/* Worst status of the checks, skips counting as ok unless all are skips. */
sc_check_status sc_report_status(const sc_report *r);
const char *sc_check_status_name(sc_check_status s);
/* Exit code of a report: 1 on a failure (or a warning with strict), else 0. */
int sc_report_exit_code(const sc_report *r, bool strict);

typedef struct sc_render_opts {
	bool color;
	bool quiet;     /* only failures */
	bool verbose;   /* details too */
	bool strict;    /* warnings count as failures in the verdict */
	bool no_verdict; /* checks only, no closing line */
} sc_render_opts;

/* {"status", "checks": [...], "duration_ms", ...extra}; fresh string. */
char *sc_report_render_json(sc_report *r);
/* The closing line alone: "FAILED: 1 failed, 0 warnings, ... (N ms)". */
char *sc_report_render_verdict(const sc_report *r, const sc_render_opts *o);
/* Aligned lines for a terminal; fresh string. Checks with a group are
 * listed under their group's name. */
char *sc_report_render_text(const sc_report *r, const sc_render_opts *o);

/* The Monitoring Plugins development guidelines' output: one status line
 * "SYNCCTL <STATUS> - summary | perfdata", then a line per check (long
 * output). *code gets the plugin's exit code: 0 OK, 1 WARNING, 2 CRITICAL,
 * 3 UNKNOWN (nothing was checked). strict: a warning is CRITICAL. */
char *sc_report_render_nagios(const sc_report *r, bool strict, int *code);
/* A status line for a run that could not report (usage error, unreachable
 * server): "SYNCCTL UNKNOWN - message". */
char *sc_report_nagios_unknown(const char *message);

/* The Prometheus text exposition format (for node_exporter's textfile
 * collector): syncctl_check_status{check,group} (0 ok, 1 warn, 2 fail,
 * 3 skip), syncctl_check_duration_seconds, every metric as
 * syncctl_<name>{check,group}, syncctl_status, syncctl_exit_code,
 * syncctl_run_timestamp_seconds and syncctl_run_duration_seconds. `command`
 * labels the run. */
char *sc_report_render_prometheus(const sc_report *r, const char *command, double now_s, int exit_code);

/* An aligned text table (header + rows); cells are UTF-8 strings. */
typedef struct sc_table {
	size_t ncols;
	size_t nrows, cap;
	char **cells;     /* row-major, nrows*ncols, row 0 is the header */
} sc_table;

void sc_table_init(sc_table *t, size_t ncols, const char *const *header);
void sc_table_add(sc_table *t, const char *const *row);
char *sc_table_render(const sc_table *t, const char *indent, bool bold_header);
void sc_table_free(sc_table *t);

#endif
