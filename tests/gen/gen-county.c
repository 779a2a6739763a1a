/* gen-county — the synthetic county that tests, benchmarks and `deploy/up` run on.
 *
 * From one seed it writes a whole county as plain CSV files: townships, schools with their dated history,
 * classes, the student register (学籍), the household register (户籍), staff and their responsibility shares,
 * the term calendar with per-school closures, and one autumn term of daily life: roll calls, absences,
 * daily reports (zero, events, late, silent) and their events (transfers, dropouts, returns). Beside the data
 * it writes `truth.csv`, the figures later stages must reproduce, computed here from the generator's own
 * arrays and never from SQL, so a bug in the database code cannot hide by agreeing with itself.
 *
 * Everything is a function of the seed: one PRNG (xoshiro256**, seeded through splitmix64) per phase, no
 * clock, no rand(), no hash-order iteration. The column meanings are documented in tests/gen/README.md. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- rules the truth is computed against (documented in README.md; later issues use the same defaults) ----
 */
enum {
    NO_SHOW_DAYS = 3,       /* not present on any of the school's first N school days: a no-show */
    LIMBO_DAYS = 10,        /* transfer out unconfirmed by the N-th county school day after it: in limbo */
    DEADLINE_MIN = 10 * 60, /* daily report deadline, 10:00 local time (DESIGN: the township sees by 10:00) */
};
static const int streak_tiers[3] = {3, 5, 20};

/* ---- PRNG ---------------------------------------------------------------------------------------------- */
typedef struct {
    uint64_t s[4];
} rng;

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Each phase draws from its own stream so that changing one phase leaves the others' data unchanged. */
static void rng_seed(rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xD1B54A32D192ED03ull);
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Uniform in [0, n) without modulo bias (rejection of the short last bucket). */
static uint32_t rng_below(rng *r, uint32_t n)
{
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t v;
    do
        v = rng_next(r);
    while (v >= limit);
    return (uint32_t)(v % n);
}

static int rng_range(rng *r, int lo, int hi)
{
    return lo + (int)rng_below(r, (uint32_t)(hi - lo + 1));
}

static double rng_unit(rng *r)
{
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

static int rng_chance(rng *r, double p)
{
    return rng_unit(r) < p;
}

/* ---- dates: days since 1970-01-01, proleptic Gregorian --------------------------------------------- */
static int days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;
    int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int z, int *y, int *m, int *d)
{
    z += 719468;
    int era = (z >= 0 ? z : z - 146096) / 146097;
    int doe = z - era * 146097;
    int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp + (mp < 10 ? 3 : -9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* 0 = Monday … 6 = Sunday (1970-01-01 was a Thursday). */
static int weekday(int z)
{
    return ((z % 7) + 7 + 3) % 7;
}

typedef struct {
    char s[11];
} datestr;

static datestr date_fmt(int z)
{
    datestr out;
    int y, m, d;
    civil_from_days(z, &y, &m, &d);
    snprintf(out.s, sizeof out.s, "%04d-%02d-%02d", y, m, d);
    return out;
}

/* ---- tables: names and places ---------------------------------------------------------------------- */
static const char *const surnames[] = {
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱",   "胡", "郭", "何",
    "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭",   "曾", "肖", "田",
    "董", "袁", "潘", "于", "蒋", "蔡", "余", "杜", "叶", "程", "苏", "魏", "吕", "丁",   "任", "沈", "姚",
    "卢", "姜", "崔", "钟", "谭", "陆", "汪", "范", "廖", "贺", "易", "龙", "向", "欧阳",
};
/* Hunan weights: the first names are far more common; a triangular pick favours the head of the table. */
static const char *const given_m[] = {
    "伟", "强", "磊", "军", "洋", "勇", "杰", "涛", "明", "超", "浩", "宇", "轩", "俊", "鹏", "辉", "帆",
    "博", "文", "睿", "泽", "晨", "阳", "峰", "凯", "瑞", "昊", "子", "一", "天", "嘉", "志", "国", "建",
};
static const char *const given_f[] = {
    "芳", "娜", "敏", "静", "丽", "艳", "娟", "霞", "婷", "雪", "琳", "欣", "怡", "涵", "萱", "梓", "雨",
    "诗", "思", "佳", "悦", "可", "馨", "彤", "若", "语", "玲", "莉", "晴", "宁", "梦", "小", "紫", "菲",
};
static const char *const township_names[] = {
    "城关镇", "白沙镇", "青山镇", "石门乡", "龙潭镇", "桃花乡", "清水镇", "枫林乡", "大坪镇", "黄土乡",
    "新塘镇", "柳溪乡", "金星镇", "双河乡", "高桥镇", "荷花乡", "望城镇", "竹山乡", "长岭乡", "梅田镇",
};
static const char *const village_names[] = {
    "石桥", "杨柳", "马家", "李家", "新田", "上湾", "下湾", "大塘", "小溪", "茶园",
    "枫树", "白果", "黄泥", "青龙", "凤凰", "水口", "岩头", "桐木", "竹园", "松柏",
};
static const char *const excused_reasons[] = {"illness", "medical", "family_event", "bereavement"};
static const char *const unexcused_reasons[] = {"unknown", "truancy", "farm_work", "family_matter"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- the county's entities -------------------------------------------------------------------------- */
enum school_kind { KIND_PRIMARY, KIND_JUNIOR, KIND_NINE_YEAR, KIND_VILLAGE };
static const char *const kind_names[] = {"primary", "junior", "nine_year", "village_primary"};
enum report_profile { PROFILE_NORMAL, PROFILE_LATE, PROFILE_NEVER };

enum flag {
    FLAG_LEFT_BEHIND = 1 << 0,
    FLAG_SINGLE_PARENT = 1 << 1,
    FLAG_POOR = 1 << 2,
    FLAG_LEARNING = 1 << 3,
    FLAG_DISABILITY = 1 << 4,
    FLAG_HOME_TAUGHT = 1 << 5,
    FLAG_MIGRANT = 1 << 6,
};
static const char *const flag_names[] = {"left_behind", "single_parent", "poor",   "learning_difficulty",
                                         "disability",  "home_taught",   "migrant"};

/* What the scenario does with a student; a student has one role so planted patterns stay exact. */
enum role { ROLE_NONE, ROLE_PLANTED, ROLE_DROPOUT, ROLE_NO_SHOW, ROLE_TRANSFER, ROLE_CLOSURE_MOVE };

enum status { ST_PRESENT = 0, ST_EXCUSED = 1, ST_UNEXCUSED = 2 }; /* low 2 bits; reason index above */

typedef struct {
    char code[16];
    const char *name;
} township;

typedef struct {
    char code[16];
    char name[96];
    int township;
    int kind;
    int grade_min, grade_max;
    int opened, closed; /* days; closed = first day not operating, -1 while open */
    int merged_into;    /* school index or -1 */
    int profile;
    int first_class, n_classes;
    int first_teacher, n_teachers; /* subject teachers in the staff array */
    int *sdays;                    /* county school-day indices this school is open on, ascending */
    int n_sdays;
    int *pos;         /* county school-day index -> position in sdays, or -1 */
    uint8_t *closure; /* per county school day: a closure day of this school */
} school;

typedef struct {
    int school;
    int grade;
    char name[24];
    int head_teacher;
    int *members; /* students ever on its roll this term: term start, then arrivals */
    int n_members, cap_members;
    int size_start;
    int transfers_out, transfers_in, dropouts;
} klass;

typedef struct {
    char person_id[19];
    char name[16];
    int birth;
    char sex;
    int township;
    int enrolled; /* index in the student array, or -1 */
} person;

typedef struct {
    int person;
    int school, klass; /* at term start */
    unsigned flags;
    int role;
    int out_day;             /* county school day of the transfer-out report (on roll through it), or -1 */
    int to_school, to_klass; /* -1: outside the county */
    int in_day;              /* county school day of the receiving school's confirmation, or -1 */
    int dropout_day;         /* county school day of the dropout report, or -1 */
    int returned_after_dropout;
} student;

enum staff_role { STAFF_PRINCIPAL, STAFF_LEADER, STAFF_HEAD_TEACHER, STAFF_TEACHER };
static const char *const staff_role_names[] = {"principal", "leader", "head_teacher", "teacher"};

typedef struct {
    char id[48];
    char name[16];
    char sex;
    int school;
    int role;
    int klass;
    int grade_min, grade_max;
} staff;

enum event_kind { EV_TRANSFER_OUT, EV_TRANSFER_IN, EV_SUSPECTED_DROPOUT, EV_DROPOUT, EV_RETURN };
static const char *const event_names[] = {"transfer_out", "transfer_in", "suspected_dropout", "dropout",
                                          "return"};

typedef struct {
    int sday;
    int school;
    int student;
    int kind;
    int klass;
    int other_school; /* -1: none; -2: outside the county */
    const char *note;
    int seq;
} event;

enum rep_state { REP_NOT_EXPECTED = 0, REP_SILENT, REP_SUBMITTED };

typedef struct {
    int kind; /* index into the kind names of planted.csv: 0 streak, 1 no_show, 2 dropout, 3 transfer */
    int student;
    int first_sday, last_sday, length;
    const char *note;
} planted;

/* ---- growable arrays: every allocation is checked; failure ends the run with a message ------------- */
static void *xrealloc(void *p, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size) {
        fprintf(stderr, "gen-county: allocation too large\n");
        exit(1);
    }
    void *q = realloc(p, (n * size) != 0 ? n * size : 1);
    if (!q) {
        fprintf(stderr, "gen-county: out of memory\n");
        exit(1);
    }
    return q;
}

static void *xcalloc(size_t n, size_t size)
{
    void *q = calloc(n ? n : 1, size ? size : 1);
    if (!q) {
        fprintf(stderr, "gen-county: out of memory\n");
        exit(1);
    }
    return q;
}

#define PUSH(arr, n, cap)                                                                                    \
    do {                                                                                                     \
        if ((n) == (cap)) {                                                                                  \
            (cap) = (cap) ? 2 * (cap) : 64;                                                                  \
            (arr) = xrealloc((arr), (size_t)(cap), sizeof(*(arr)));                                          \
        }                                                                                                    \
    } while (0)

/* The whole county in memory. */
typedef struct {
    uint64_t seed;
    int small;
    const char *out;

    int term_start, term_end;
    int n_days;        /* calendar days term_start..term_end */
    uint8_t *day_kind; /* per calendar day */
    const char **day_note;
    int *county_sdays; /* calendar day offsets that are school days */
    int n_sdays;

    township *townships;
    int n_townships;
    school *schools;
    int n_schools, cap_schools;
    klass *classes;
    int n_classes, cap_classes;
    person *persons;
    int n_persons, cap_persons;
    student *students;
    int n_students, cap_students;
    staff *staff;
    int n_staff, cap_staff;
    event *events;
    int n_events, cap_events;
    planted *planted;
    int n_planted, cap_planted;

    uint8_t *status;   /* n_students x n_sdays */
    uint8_t *rep;      /* n_schools x n_sdays: rep_state */
    int16_t *rep_time; /* n_schools x n_sdays: minutes after midnight */
    int *rep_events;   /* n_schools x n_sdays: events carried */

    int (*id_seq)[2]; /* per birth day since base, per sex: next sequence number */
    int id_base, id_span;
} county;

enum day_kind { DAY_TERM, DAY_WEEKEND, DAY_HOLIDAY, DAY_MAKEUP };
static const char *const day_kind_names[] = {"term", "weekend", "holiday", "makeup"};

/* ---- calendar --------------------------------------------------------------------------------------- */
static void calendar_build(county *c)
{
    c->term_start = days_from_civil(2026, 9, 1);
    c->term_end = days_from_civil(2027, 1, 15);
    c->n_days = c->term_end - c->term_start + 1;
    c->day_kind = xcalloc((size_t)c->n_days, 1);
    c->day_note = xcalloc((size_t)c->n_days, sizeof(*c->day_note));
    c->county_sdays = xcalloc((size_t)c->n_days, sizeof(int));
    struct {
        int y, m, d;
        int kind;
        const char *note;
    } special[] = {
        {2026, 9, 25, DAY_HOLIDAY, "Mid-Autumn Festival"},
        {2026, 10, 1, DAY_HOLIDAY, "National Day"},
        {2026, 10, 2, DAY_HOLIDAY, "National Day"},
        {2026, 10, 3, DAY_HOLIDAY, "National Day"},
        {2026, 10, 4, DAY_HOLIDAY, "National Day"},
        {2026, 10, 5, DAY_HOLIDAY, "National Day"},
        {2026, 10, 6, DAY_HOLIDAY, "National Day"},
        {2026, 10, 7, DAY_HOLIDAY, "National Day"},
        {2026, 10, 10, DAY_MAKEUP, "make-up school day for National Day"},
        {2027, 1, 1, DAY_HOLIDAY, "New Year's Day"},
    };
    for (int i = 0; i < c->n_days; i++) {
        int z = c->term_start + i;
        c->day_kind[i] = weekday(z) >= 5 ? DAY_WEEKEND : DAY_TERM;
        c->day_note[i] = "";
        for (size_t k = 0; k < COUNT(special); k++)
            if (days_from_civil(special[k].y, special[k].m, special[k].d) == z) {
                c->day_kind[i] = (uint8_t)special[k].kind;
                c->day_note[i] = special[k].note;
            }
        if (c->day_kind[i] == DAY_TERM || c->day_kind[i] == DAY_MAKEUP)
            c->county_sdays[c->n_sdays++] = i;
    }
}

static int sday_date(const county *c, int sday)
{
    return c->term_start + c->county_sdays[sday];
}

/* First county school day on or after a date (n_sdays when none). */
static int sday_at(const county *c, int y, int m, int d)
{
    int z = days_from_civil(y, m, d);
    for (int i = 0; i < c->n_sdays; i++)
        if (sday_date(c, i) >= z)
            return i;
    return c->n_sdays;
}

/* ---- people ----------------------------------------------------------------------------------------- */
static void name_make(rng *r, char sex, char *out, size_t len)
{
    /* min of two uniforms: a falling distribution over the table, common surnames first */
    uint32_t a = rng_below(r, COUNT(surnames)), b = rng_below(r, COUNT(surnames));
    const char *sur = surnames[a < b ? a : b];
    const char *const *given = sex == 'M' ? given_m : given_f;
    size_t n = sex == 'M' ? COUNT(given_m) : COUNT(given_f);
    const char *g1 = given[rng_below(r, (uint32_t)n)];
    if (rng_chance(r, 0.7)) {
        const char *g2 = given[rng_below(r, (uint32_t)n)];
        snprintf(out, len, "%s%s%s", sur, g1, g2);
    } else {
        snprintf(out, len, "%s%s", sur, g1);
    }
}

/* An 18-character id in the style of the resident id card: area (the township), birth date, a sequence
 * whose parity is the sex, and the ISO 7064 MOD 11-2 check. Sequences whose check would be 'X' are
 * skipped so that the student id (G + this id) is always G + 18 digits. */
static void person_id_make(county *c, int township_idx, int birth, char sex, char *out)
{
    static const int weights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    static const char checks[] = "10X98765432";
    int y, m, d;
    civil_from_days(birth, &y, &m, &d);
    int slot = birth - c->id_base;
    if (slot < 0 || slot >= c->id_span) {
        fprintf(stderr, "gen-county: birth date outside the id table\n");
        exit(1);
    }
    int *next = &c->id_seq[slot][sex == 'M' ? 0 : 1];
    for (;;) {
        int k = (*next)++;
        int seq = sex == 'M' ? 2 * k + 1 : 2 * k + 2;
        if (seq > 999) {
            fprintf(stderr, "gen-county: id sequence exhausted\n");
            exit(1);
        }
        char body[48];
        snprintf(body, sizeof body, "4301%02d%04d%02d%02d%03d", township_idx + 1, y, m, d, seq);
        int sum = 0;
        for (int i = 0; i < 17; i++)
            sum += (body[i] - '0') * weights[i];
        char check = checks[sum % 11];
        if (check == 'X')
            continue;
        memcpy(out, body, 17);
        out[17] = check;
        out[18] = '\0';
        return;
    }
}

/* Born in the school year that fits the grade in 2026-27: grade 1 born 2019-09-01..2020-08-31; a few
 * children are a year older (late start or a repeated year). */
static int birth_for_grade(rng *r, int grade)
{
    int year = 2019 - (grade - 1);
    if (rng_chance(r, 0.03))
        year -= 1;
    int from = days_from_civil(year, 9, 1), to = days_from_civil(year + 1, 8, 31);
    return rng_range(r, from, to);
}

static int person_add(county *c, rng *r, int township_idx, int birth, char sex)
{
    PUSH(c->persons, c->n_persons, c->cap_persons);
    person *p = &c->persons[c->n_persons];
    memset(p, 0, sizeof *p);
    p->birth = birth;
    p->sex = sex;
    p->township = township_idx;
    p->enrolled = -1;
    name_make(r, sex, p->name, sizeof p->name);
    person_id_make(c, township_idx, birth, sex, p->person_id);
    return c->n_persons++;
}

static unsigned flags_draw(rng *r)
{
    unsigned f = 0;
    if (rng_chance(r, 0.20))
        f |= FLAG_LEFT_BEHIND;
    if (rng_chance(r, 0.08))
        f |= FLAG_SINGLE_PARENT;
    if (rng_chance(r, 0.10))
        f |= FLAG_POOR;
    if (rng_chance(r, 0.05))
        f |= FLAG_LEARNING;
    if (rng_chance(r, 0.01)) {
        f |= FLAG_DISABILITY;
        if (rng_chance(r, 0.3))
            f |= FLAG_HOME_TAUGHT;
    }
    if (rng_chance(r, 0.05))
        f |= FLAG_MIGRANT;
    return f;
}

static void member_add(klass *k, int student_idx)
{
    PUSH(k->members, k->n_members, k->cap_members);
    k->members[k->n_members++] = student_idx;
}

static int staff_add(county *c, rng *r, int school_idx, int role)
{
    PUSH(c->staff, c->n_staff, c->cap_staff);
    staff *s = &c->staff[c->n_staff];
    memset(s, 0, sizeof *s);
    s->sex = rng_chance(r, 0.6) ? 'F' : 'M';
    name_make(r, s->sex, s->name, sizeof s->name);
    s->school = school_idx;
    s->role = role;
    s->klass = -1;
    int n = 0;
    for (int i = c->n_staff - 1; i >= 0 && c->staff[i].school == school_idx; i--)
        n++;
    snprintf(s->id, sizeof s->id, "%s-%03d", c->schools[school_idx].code, n + 1);
    return c->n_staff++;
}

/* ---- structure: townships, schools, classes, students, staff ---------------------------------------- */
static int school_add(county *c, int t, int number, int kind, const char *name)
{
    PUSH(c->schools, c->n_schools, c->cap_schools);
    school *s = &c->schools[c->n_schools];
    memset(s, 0, sizeof *s);
    snprintf(s->code, sizeof s->code, "S%s%02d", c->townships[t].code + 1, number);
    snprintf(s->name, sizeof s->name, "%s", name);
    s->township = t;
    s->kind = kind;
    s->grade_min = kind == KIND_JUNIOR ? 7 : 1;
    s->grade_max = kind == KIND_PRIMARY || kind == KIND_VILLAGE ? 6 : 9;
    s->closed = -1;
    s->merged_into = -1;
    s->profile = PROFILE_NORMAL;
    return c->n_schools++;
}

static void school_fill(county *c, rng *r, int si, int per_grade_lo, int per_grade_hi)
{
    school *s = &c->schools[si];
    int village = s->kind == KIND_VILLAGE;
    s->first_class = c->n_classes;
    for (int g = s->grade_min; g <= s->grade_max; g++) {
        int n = rng_range(r, per_grade_lo, per_grade_hi);
        for (int k = 1; k <= n; k++) {
            PUSH(c->classes, c->n_classes, c->cap_classes);
            klass *kl = &c->classes[c->n_classes];
            memset(kl, 0, sizeof *kl);
            kl->school = si;
            kl->grade = g;
            snprintf(kl->name, sizeof kl->name, "%d-%d", g, k);
            kl->size_start = village ? rng_range(r, 8, 28) : rng_range(r, 30, 55);
            c->n_classes++;
        }
    }
    s = &c->schools[si];
    s->n_classes = c->n_classes - s->first_class;

    /* staff: principal, leaders by grade band, a head teacher per class, subject teachers */
    staff_add(c, r, si, STAFF_PRINCIPAL);
    int band = s->grade_max - s->grade_min + 1 <= 3 || village ? s->grade_max - s->grade_min + 1 : 3;
    for (int g = s->grade_min; g <= s->grade_max; g += band) {
        int l = staff_add(c, r, si, STAFF_LEADER);
        c->staff[l].grade_min = g;
        c->staff[l].grade_max = g + band - 1 > s->grade_max ? s->grade_max : g + band - 1;
    }
    for (int k = s->first_class; k < s->first_class + s->n_classes; k++) {
        int h = staff_add(c, r, si, STAFF_HEAD_TEACHER);
        c->staff[h].klass = k;
        c->classes[k].head_teacher = h;
    }
    int n_teachers = s->n_classes * 3 / 2 + 1;
    if (n_teachers < 2)
        n_teachers = 2;
    s->first_teacher = c->n_staff;
    for (int i = 0; i < n_teachers; i++)
        staff_add(c, r, si, STAFF_TEACHER);
    s->n_teachers = n_teachers;

    /* students */
    for (int k = s->first_class; k < s->first_class + s->n_classes; k++) {
        klass *kl = &c->classes[k];
        for (int i = 0; i < kl->size_start; i++) {
            char sex = rng_chance(r, 0.52) ? 'M' : 'F';
            int pi = person_add(c, r, s->township, birth_for_grade(r, kl->grade), sex);
            PUSH(c->students, c->n_students, c->cap_students);
            student *st = &c->students[c->n_students];
            memset(st, 0, sizeof *st);
            st->person = pi;
            st->school = si;
            st->klass = k;
            st->flags = flags_draw(r);
            st->role = ROLE_NONE;
            st->out_day = st->in_day = st->dropout_day = -1;
            st->to_school = st->to_klass = -1;
            c->persons[pi].enrolled = c->n_students;
            member_add(kl, c->n_students);
            c->n_students++;
        }
    }
}

static void county_build(county *c)
{
    rng r;
    rng_seed(&r, c->seed, 1);
    c->id_base = days_from_civil(2009, 1, 1);
    c->id_span = days_from_civil(2021, 12, 31) - c->id_base + 1;
    c->id_seq = xcalloc((size_t)c->id_span, sizeof(*c->id_seq));

    c->n_townships = c->small ? 1 : 20;
    c->townships = xcalloc((size_t)c->n_townships, sizeof(township));
    for (int t = 0; t < c->n_townships; t++) {
        snprintf(c->townships[t].code, sizeof c->townships[t].code, "T4301%02d", t + 1);
        c->townships[t].name = township_names[t];
    }
    char name[96];
    int opened_default = days_from_civil(1985, 9, 1);
    if (c->small) {
        const char *tn = c->townships[0].name;
        snprintf(name, sizeof name, "%s中心小学", tn);
        int a = school_add(c, 0, 1, KIND_PRIMARY, name);
        c->schools[a].opened = opened_default;
        school_fill(c, &r, a, 1, 1);
        snprintf(name, sizeof name, "%s中学", tn);
        int b = school_add(c, 0, 2, KIND_JUNIOR, name);
        c->schools[b].opened = days_from_civil(1978, 9, 1);
        school_fill(c, &r, b, 2, 2);
        snprintf(name, sizeof name, "%s%s村小学", tn, village_names[0]);
        int v = school_add(c, 0, 3, KIND_VILLAGE, name);
        c->schools[v].opened = days_from_civil(1992, 9, 1);
        c->schools[v].profile = PROFILE_LATE;
        school_fill(c, &r, v, 1, 1);
        return;
    }
    for (int t = 0; t < c->n_townships; t++) {
        const char *tn = c->townships[t].name;
        for (int n = 1; n <= 15; n++) {
            int kind, lo, hi;
            if (n == 1) {
                snprintf(name, sizeof name, "%s中学", tn);
                kind = KIND_JUNIOR, lo = 4, hi = 8;
            } else if (n == 2) {
                snprintf(name, sizeof name, "%s九年制学校", tn);
                kind = KIND_NINE_YEAR, lo = 2, hi = 3;
            } else if (n <= 7) {
                if (n == 3)
                    snprintf(name, sizeof name, "%s中心小学", tn);
                else
                    snprintf(name, sizeof name, "%s第%s小学", tn,
                             (const char *const[]){"二", "三", "四", "五"}[n - 4]);
                kind = KIND_PRIMARY, lo = 3, hi = 5;
            } else {
                snprintf(name, sizeof name, "%s%s村小学", tn,
                         village_names[(t * 7 + n) % (int)COUNT(village_names)]);
                kind = KIND_VILLAGE, lo = 1, hi = 1;
            }
            int si = school_add(c, t, n, kind, name);
            c->schools[si].opened = days_from_civil(1985 + rng_range(&r, 0, 30), 9, 1);
            /* dated history: township 1's last village school was merged into its centre school before
             * this term (no classes, never expected); township 2's last village school closes mid-term */
            if (t == 0 && n == 15) {
                c->schools[si].closed = days_from_civil(2026, 7, 15);
                c->schools[si].merged_into = si - 12;
                c->schools[si].first_class = c->n_classes;
                continue;
            }
            if (t == 1 && n == 15)
                c->schools[si].closed = days_from_civil(2026, 11, 16);
            school_fill(c, &r, si, lo, hi);
        }
    }
    /* report habits: two schools never report, six report late often */
    c->schools[6 * 15 + 11].profile = PROFILE_NEVER;
    c->schools[12 * 15 + 8].profile = PROFILE_NEVER;
    for (int i = 0; i < 6; i++)
        c->schools[(3 + 3 * i) * 15 + 4 + i].profile = PROFILE_LATE;
}

/* ---- per-school calendars and closures ---------------------------------------------------------------- */
static void closure_set(county *c, int si, int sday)
{
    if (sday < c->n_sdays)
        c->schools[si].closure[sday] = 1;
}

static void school_calendars_build(county *c)
{
    for (int si = 0; si < c->n_schools; si++) {
        school *s = &c->schools[si];
        s->closure = xcalloc((size_t)c->n_sdays, 1);
        s->sdays = xcalloc((size_t)c->n_sdays, sizeof(int));
        s->pos = xcalloc((size_t)c->n_sdays, sizeof(int));
    }
    /* weather closures: a snow day and a freezing-rain day for a few schools */
    int snow = sday_at(c, 2026, 11, 18), ice = sday_at(c, 2026, 12, 16);
    if (c->small) {
        closure_set(c, 2, snow);
    } else {
        closure_set(c, 0 * 15 + 3, snow); /* a primary of township 1: carries a planted streak */
        for (int n = 8; n <= 11; n++)
            closure_set(c, 4 * 15 + n - 1, snow);
        for (int n = 10; n <= 12; n++)
            closure_set(c, 8 * 15 + n - 1, ice);
    }
    for (int si = 0; si < c->n_schools; si++) {
        school *s = &c->schools[si];
        for (int d = 0; d < c->n_sdays; d++) {
            int z = sday_date(c, d);
            int open = z >= s->opened && (s->closed < 0 || z < s->closed) && !s->closure[d];
            s->pos[d] = open ? s->n_sdays : -1;
            if (open)
                s->sdays[s->n_sdays++] = d;
        }
    }
}

/* ---- daily reports: who submits, when ------------------------------------------------------------------ */
static void reports_draw(county *c)
{
    rng r;
    rng_seed(&r, c->seed, 2);
    size_t n = (size_t)c->n_schools * (size_t)c->n_sdays;
    c->rep = xcalloc(n, 1);
    c->rep_time = xcalloc(n, sizeof(int16_t));
    c->rep_events = xcalloc(n, sizeof(int));
    for (int si = 0; si < c->n_schools; si++) {
        school *s = &c->schools[si];
        double p_silent = s->profile == PROFILE_NEVER ? 1.0 : 0.008;
        double p_late = s->profile == PROFILE_LATE ? 0.35 : 0.03;
        for (int i = 0; i < s->n_sdays; i++) {
            size_t at = (size_t)si * (size_t)c->n_sdays + (size_t)s->sdays[i];
            double u = rng_unit(&r);
            int late = rng_chance(&r, p_late);
            int minute =
                late ? rng_range(&r, DEADLINE_MIN + 1, 17 * 60 + 30) : rng_range(&r, 7 * 60, DEADLINE_MIN - 1);
            /* the first school day always gets a report from a school that reports at all */
            if (u < p_silent && (i > 0 || s->profile == PROFILE_NEVER)) {
                c->rep[at] = REP_SILENT;
            } else {
                c->rep[at] = REP_SUBMITTED;
                c->rep_time[at] = (int16_t)minute;
            }
        }
    }
}

static uint8_t *rep_at(county *c, int si, int sday)
{
    return &c->rep[(size_t)si * (size_t)c->n_sdays + (size_t)sday];
}

/* The first county school day on or after sday on which the school submits a report, or -1. */
static int next_report(county *c, int si, int sday)
{
    for (int d = sday < 0 ? 0 : sday; d < c->n_sdays; d++)
        if (*rep_at(c, si, d) == REP_SUBMITTED)
            return d;
    return -1;
}

static void event_add(county *c, int sday, int si, int st, int kind, int kl, int other, const char *note)
{
    PUSH(c->events, c->n_events, c->cap_events);
    c->events[c->n_events] = (event){sday, si, st, kind, kl, other, note, c->n_events};
    c->rep_events[(size_t)si * (size_t)c->n_sdays + (size_t)sday]++;
    c->n_events++;
}

/* ---- the scenario ------------------------------------------------------------------------------------- */
static uint8_t *status_at(county *c, int st, int sday)
{
    return &c->status[(size_t)st * (size_t)c->n_sdays + (size_t)sday];
}

static void status_set(county *c, rng *r, int st, int sday, int kind)
{
    uint8_t reason = (uint8_t)rng_below(r, 4);
    *status_at(c, st, sday) = (uint8_t)(kind | (reason << 2));
}

static void planted_add(county *c, int kind, int st, int first, int last, int length, const char *note)
{
    PUSH(c->planted, c->n_planted, c->cap_planted);
    c->planted[c->n_planted++] = (planted){kind, st, first, last, length, note};
}

/* A student of the school without a role yet: the skip-th such student in register order (wrapping), so
 * planted children spread over the classes instead of crowding the first one. */
static int student_pick(county *c, int si, int grade_min, uint32_t skip)
{
    int n = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < c->n_students; i++) {
            student *s = &c->students[i];
            if (s->school != si || s->role != ROLE_NONE || c->classes[s->klass].grade < grade_min ||
                (s->flags & FLAG_HOME_TAUGHT))
                continue;
            if (pass == 1 && skip-- == 0)
                return i;
            n += pass == 0;
        }
        if (n == 0)
            break;
        skip %= (uint32_t)n;
    }
    fprintf(stderr, "gen-county: no student left to plant at %s\n", c->schools[si].code);
    exit(1);
}

/* Unexcused absences from the school's position `from` for `len` positions; 'E' in a pattern is excused. */
static void pattern_apply(county *c, rng *r, int st, int si, int from, const char *pattern)
{
    school *s = &c->schools[si];
    for (int i = 0; pattern[i]; i++) {
        if (from + i >= s->n_sdays)
            break;
        if (pattern[i] != 'P')
            status_set(c, r, st, s->sdays[from + i], pattern[i] == 'E' ? ST_EXCUSED : ST_UNEXCUSED);
    }
}

/* The school's first open day on or after a county school day, as a position in its own sequence
 * (n_sdays when none): a planted date may fall on the school's closure day. */
static int school_pos_from(const school *s, int sday)
{
    for (int i = 0; i < s->n_sdays; i++)
        if (s->sdays[i] >= sday)
            return i;
    return s->n_sdays;
}

/* Plant an absence pattern on a fresh student of the school from the first school day on or after
 * sday_from; records each unexcused run it makes in planted.csv. Returns the student; *back is the
 * position after the pattern (the day the child is back). */
static int plant_pattern(county *c, rng *r, int si, int sday_from, const char *pattern, const char *note,
                         int *back)
{
    school *s = &c->schools[si];
    int st = student_pick(c, si, 1, rng_below(r, 1000));
    c->students[st].role = ROLE_PLANTED;
    int from = school_pos_from(s, sday_from);
    int len = (int)strlen(pattern);
    if (from + len > s->n_sdays) {
        fprintf(stderr, "gen-county: planted pattern runs past the term\n");
        exit(1);
    }
    pattern_apply(c, r, st, si, from, pattern);
    for (int i = 0; i < len;) {
        if (pattern[i] != 'U') {
            i++;
            continue;
        }
        int j = i;
        while (j < len && pattern[j] == 'U')
            j++;
        planted_add(c, 0, st, s->sdays[from + i], s->sdays[from + j - 1], j - i, note);
        i = j;
    }
    if (back)
        *back = from + len;
    return st;
}

static void return_report(county *c, int st, int si, int pos)
{
    school *s = &c->schools[si];
    if (pos >= s->n_sdays)
        return;
    int d = next_report(c, si, s->sdays[pos]);
    if (d >= 0)
        event_add(c, d, si, st, EV_RETURN, c->students[st].klass, -1, "back in class");
}

/* A school of the county (not `not_school`) that teaches the grade, is open all term and reports; -1 if
 * there is none (the small county has one junior school). */
static int school_for_grade(county *c, rng *r, int grade, int not_school)
{
    for (int tries = 0; tries < 10000; tries++) {
        int si = (int)rng_below(r, (uint32_t)c->n_schools);
        school *s = &c->schools[si];
        if (si != not_school && s->closed < 0 && s->profile != PROFILE_NEVER && grade >= s->grade_min &&
            grade <= s->grade_max && s->n_classes > 0)
            return si;
    }
    return -1;
}

static int class_for_grade(county *c, rng *r, int si, int grade)
{
    school *s = &c->schools[si];
    int n = 0, pick;
    for (int k = s->first_class; k < s->first_class + s->n_classes; k++)
        n += c->classes[k].grade == grade;
    pick = (int)rng_below(r, (uint32_t)n);
    for (int k = s->first_class; k < s->first_class + s->n_classes; k++)
        if (c->classes[k].grade == grade && pick-- == 0)
            return k;
    return -1;
}

/* A transfer out reported on the first report on or after out_sday; the receiving school confirms
 * `confirm_after` county school days later (on its next report), or never when confirm_after < 0. */
static void transfer_make(county *c, rng *r, int st, int out_sday, int to_school, int confirm_after,
                          const char *note)
{
    student *s = &c->students[st];
    klass *from = &c->classes[s->klass];
    int d_out = next_report(c, s->school, out_sday);
    if (d_out < 0)
        return;
    s->role = s->role == ROLE_NONE ? ROLE_TRANSFER : s->role;
    s->out_day = d_out;
    s->to_school = to_school;
    event_add(c, d_out, s->school, st, EV_TRANSFER_OUT, s->klass, to_school >= 0 ? to_school : -2, note);
    from->transfers_out++;
    if (to_school < 0 || confirm_after < 0)
        return;
    int d_in = next_report(c, to_school, d_out + (confirm_after > 0 ? confirm_after : 1));
    if (d_in < 0)
        return;
    int k = class_for_grade(c, r, to_school, from->grade);
    s->in_day = d_in;
    s->to_klass = k;
    member_add(&c->classes[k], st);
    c->classes[k].transfers_in++;
    event_add(c, d_in, to_school, st, EV_TRANSFER_IN, k, s->school, note);
}

/* Absent without excuse from position `from` of the school; back at `back` (or never when back < 0).
 * The school reports a suspected dropout on the 5th day and a dropout on the 20th, if still away. */
static void dropout_make(county *c, rng *r, int st, int from, int back)
{
    student *s = &c->students[st];
    school *sc = &c->schools[s->school];
    int end = back < 0 || back > sc->n_sdays ? sc->n_sdays : back;
    for (int i = from; i < end; i++)
        status_set(c, r, st, sc->sdays[i], ST_UNEXCUSED);
    int back_sday = back >= 0 && back < sc->n_sdays ? sc->sdays[back] : c->n_sdays;
    if (from + 4 < end) {
        int d = next_report(c, s->school, sc->sdays[from + 4]);
        if (d >= 0 && d < back_sday)
            event_add(c, d, s->school, st, EV_SUSPECTED_DROPOUT, s->klass, -1, "absent 5 school days");
    }
    if (from + 19 < end) {
        int d = next_report(c, s->school, sc->sdays[from + 19]);
        if (d >= 0 && d < back_sday) {
            event_add(c, d, s->school, st, EV_DROPOUT, s->klass, -1, "absent 20 school days");
            s->dropout_day = d;
            if (back >= 0 && back < sc->n_sdays)
                s->returned_after_dropout = 1;
        }
    }
    if (back >= 0)
        return_report(c, st, s->school, back);
}

static void scenario_plant(county *c, rng *r)
{
    int ps = c->small ? 0 : 3; /* a primary school with the usual report habit */
    int js = c->small ? 1 : 0; /* a junior school */
    int cs = c->small ? 2 : 3; /* a school with a weather closure on 2026-11-18 */
    int back, st;
    plant_pattern(c, r, ps, sday_at(c, 2026, 9, 15), "U", "single day", NULL);
    plant_pattern(c, r, ps, sday_at(c, 2026, 9, 16), "UU", "two days", NULL);
    plant_pattern(c, r, ps, sday_at(c, 2026, 9, 22), "UUU", "three days mid-week", NULL);
    plant_pattern(c, r, ps, sday_at(c, 2026, 10, 16), "UUU", "three days across a weekend", NULL);
    plant_pattern(c, r, ps, sday_at(c, 2026, 9, 29), "UUUU", "four days across the National Day holiday",
                  NULL);
    plant_pattern(c, r, ps, sday_at(c, 2026, 10, 8), "UUUUUU", "six days over the make-up Saturday", NULL);
    plant_pattern(c, r, ps, sday_at(c, 2026, 11, 3), "UUEUU", "broken by an excused day", NULL);
    plant_pattern(c, r, ps, sday_at(c, 2026, 11, 24), "UUUEUUU", "three then excused then three", NULL);
    plant_pattern(c, r, ps, sday_at(c, 2026, 12, 1), "UUUUU", "exactly five", NULL);
    plant_pattern(c, r, cs, sday_at(c, 2026, 11, 17), "UUU", "three days across the school's closure day",
                  NULL);
    st = plant_pattern(c, r, ps, sday_at(c, 2026, 11, 23), "UUUUUUUUUUUUUUUUUUUU", "exactly twenty", &back);
    return_report(c, st, ps, back);
    st = plant_pattern(c, r, ps, sday_at(c, 2026, 11, 2), "UUUUUUUUUUUUUUUUUUUUUUUUU",
                       "twenty-five days then back", &back);
    return_report(c, st, ps, back);

    /* no-shows at term start */
    st = student_pick(c, ps, 1, rng_below(r, 1000));
    c->students[st].role = ROLE_NO_SHOW;
    pattern_apply(c, r, st, ps, 0, "UUUU");
    planted_add(c, 1, st, c->schools[ps].sdays[0], c->schools[ps].sdays[3], 4, "no-show; arrives on day 5");
    return_report(c, st, ps, 4);
    st = student_pick(c, ps, 1, rng_below(r, 1000));
    c->students[st].role = ROLE_NO_SHOW;
    pattern_apply(c, r, st, ps, 0, "EUU");
    planted_add(c, 1, st, c->schools[ps].sdays[0], c->schools[ps].sdays[2], 3,
                "no-show with an excused first day; arrives on day 4");
    return_report(c, st, ps, 3);
    st = student_pick(c, ps, 1, rng_below(r, 1000));
    c->students[st].role = ROLE_NO_SHOW;
    pattern_apply(c, r, st, ps, 0, "UU");
    planted_add(c, 1, st, c->schools[ps].sdays[0], c->schools[ps].sdays[1], 2,
                "arrives on day 3: not a no-show");
    return_report(c, st, ps, 2);

    /* a dropout at the junior school: away from 2026-11-02 to the end of term */
    st = student_pick(c, js, 7, rng_below(r, 1000));
    c->students[st].role = ROLE_DROPOUT;
    int from = school_pos_from(&c->schools[js], sday_at(c, 2026, 11, 2));
    if (from + 20 >= c->schools[js].n_sdays) {
        fprintf(stderr, "gen-county: the planted dropout starts too late in the term\n");
        exit(1);
    }
    dropout_make(c, r, st, from, -1);
    planted_add(c, 2, st, c->schools[js].sdays[from], c->schools[js].sdays[c->schools[js].n_sdays - 1],
                c->schools[js].n_sdays - from, "dropout to the end of term");

    /* transfers: confirmed next day, confirmed too late (limbo first), out of county, never confirmed */
    int to_a = c->small ? 2 : school_for_grade(c, r, 3, ps);
    int to_b = c->small ? 2 : school_for_grade(c, r, 4, ps);
    if (to_a < 0 || to_b < 0) {
        fprintf(stderr, "gen-county: no receiving school for the planted transfers\n");
        exit(1);
    }
    int d0 = sday_at(c, 2026, 9, 21);
    const char *notes[4] = {"confirmed the next school day", "confirmed after 12 school days",
                            "moved out of the county; never confirmed", "receiving school never confirms"};
    int confirm[4] = {1, 12, -1, -1};
    int dest[4] = {to_a, to_b, -1, to_a};
    for (int i = 0; i < 4; i++) {
        st = student_pick(c, ps, 1, rng_below(r, 1000));
        c->students[st].role = ROLE_TRANSFER;
        transfer_make(c, r, st, d0 + 7 * i, dest[i], confirm[i], notes[i]);
        planted_add(c, 3, st, c->students[st].out_day, c->students[st].in_day, confirm[i], notes[i]);
    }
}

static void scenario_random(county *c, rng *r)
{
    for (int st = 0; st < c->n_students; st++) {
        student *s = &c->students[st];
        school *sc = &c->schools[s->school];
        if (s->role != ROLE_NONE || sc->profile == PROFILE_NEVER || sc->closed >= 0)
            continue;
        int grade = c->classes[s->klass].grade;
        double u = rng_unit(r);
        double p_drop = grade >= 7 ? 0.004 : 0.0005;
        double p_noshow = 0.002;
        double p_move = (s->flags & FLAG_MIGRANT) ? 0.02 : 0.002;
        double p_ext = (s->flags & FLAG_MIGRANT) ? 0.004 : 0.0004;
        if (u < p_drop) {
            s->role = ROLE_DROPOUT;
            int from = rng_range(r, 5, sc->n_sdays - 10);
            int back = rng_chance(r, 0.25) ? from + rng_range(r, 6, 30) : -1;
            dropout_make(c, r, st, from, back);
        } else if ((u -= p_drop) < p_noshow) {
            s->role = ROLE_NO_SHOW;
            if (rng_chance(r, 0.2)) {
                dropout_make(c, r, st, 0, -1);
            } else {
                int back = rng_range(r, 2, 12);
                dropout_make(c, r, st, 0, back);
            }
        } else if ((u -= p_noshow) < p_move) {
            int to = school_for_grade(c, r, grade, s->school);
            if (to >= 0)
                transfer_make(c, r, st, rng_range(r, 0, c->n_sdays - 5), to, rng_range(r, 0, 4),
                              "family moved");
        } else if ((u -= p_move) < p_ext) {
            transfer_make(c, r, st, rng_range(r, 0, c->n_sdays - 5), -1, -1, "moved out of the county");
        }
    }
    /* background: runs of excused absence (illness) and the odd unexcused day */
    for (int st = 0; st < c->n_students; st++) {
        student *s = &c->students[st];
        if (s->role != ROLE_NONE && s->role != ROLE_TRANSFER && s->role != ROLE_CLOSURE_MOVE)
            continue;
        for (int d = 0; d < c->n_sdays; d++) {
            double u = rng_unit(r);
            /* no illness run starts on the first day: a child sick through the first days would count as
             * a no-show, and the planted no-shows should stay the few the README names */
            if (u < 0.006 && d > 0) {
                int len = rng_range(r, 1, 4);
                for (int k = 0; k < len && d + k < c->n_sdays; k++)
                    status_set(c, r, st, d + k, ST_EXCUSED);
                d += len;
            } else if (u < 0.0085) {
                status_set(c, r, st, d, ST_UNEXCUSED);
            }
        }
    }
}

/* The closing school's children move to the township's centre school after its last day. */
static void scenario_closure(county *c, rng *r)
{
    for (int si = 0; si < c->n_schools; si++) {
        school *s = &c->schools[si];
        if (s->closed < 0 || s->n_classes == 0)
            continue;
        int last = s->sdays[s->n_sdays - 1];
        *rep_at(c, si, last) = REP_SUBMITTED;
        if (c->rep_time[(size_t)si * (size_t)c->n_sdays + (size_t)last] == 0)
            c->rep_time[(size_t)si * (size_t)c->n_sdays + (size_t)last] = 10 * 60;
        int to = si - 12; /* the township's centre primary (number 03) */
        for (int st = 0; st < c->n_students; st++)
            if (c->students[st].school == si) {
                c->students[st].role = ROLE_CLOSURE_MOVE;
                transfer_make(c, r, st, last, to, 1, "school closed");
            }
    }
}

static void scenario_build(county *c)
{
    rng r;
    rng_seed(&r, c->seed, 3);
    c->status = xcalloc((size_t)c->n_students * (size_t)c->n_sdays, 1);
    scenario_closure(c, &r);
    scenario_plant(c, &r);
    scenario_random(c, &r);
}

/* Where the student is on the roll on a county school day: the class index, or -1. */
static int roll_class(const county *c, int st, int sday)
{
    const student *s = &c->students[st];
    if (s->out_day < 0 || sday <= s->out_day)
        return s->klass;
    if (s->in_day >= 0 && sday >= s->in_day)
        return s->to_klass;
    return -1;
}

/* ---- output helpers ----------------------------------------------------------------------------------- */
typedef struct {
    FILE *f;
    char path[4096];
} out_file;

static void out_open(county *c, out_file *o, const char *name, const char *header)
{
    snprintf(o->path, sizeof o->path, "%s/%s", c->out, name);
    o->f = fopen(o->path, "w");
    if (!o->f) {
        fprintf(stderr, "gen-county: %s: %s\n", o->path, strerror(errno));
        exit(1);
    }
    setvbuf(o->f, NULL, _IOFBF, 1 << 16);
    fprintf(o->f, "%s\n", header);
}

static void out_close(out_file *o)
{
    if (ferror(o->f) || fclose(o->f) != 0) {
        fprintf(stderr, "gen-county: writing %s failed\n", o->path);
        exit(1);
    }
}

static const char *other_code(const county *c, int other)
{
    return other >= 0 ? c->schools[other].code : other == -2 ? "external" : "";
}

static void write_structure(county *c)
{
    out_file o;
    out_open(c, &o, "townships.csv", "township_code,name,county_code");
    for (int t = 0; t < c->n_townships; t++)
        fprintf(o.f, "%s,%s,C4301\n", c->townships[t].code, c->townships[t].name);
    out_close(&o);

    out_open(c, &o, "schools.csv",
             "school_code,name,township_code,kind,grade_min,grade_max,opened,closed,merged_into");
    for (int si = 0; si < c->n_schools; si++) {
        school *s = &c->schools[si];
        fprintf(o.f, "%s,%s,%s,%s,%d,%d,%s,%s,%s\n", s->code, s->name, c->townships[s->township].code,
                kind_names[s->kind], s->grade_min, s->grade_max, date_fmt(s->opened).s,
                s->closed >= 0 ? date_fmt(s->closed).s : "",
                s->merged_into >= 0 ? c->schools[s->merged_into].code : "");
    }
    out_close(&o);

    out_open(c, &o, "classes.csv",
             "school_code,class_name,grade,school_year,head_teacher_id,size_at_term_start");
    for (int k = 0; k < c->n_classes; k++) {
        klass *kl = &c->classes[k];
        fprintf(o.f, "%s,%s,%d,2026,%s,%d\n", c->schools[kl->school].code, kl->name, kl->grade,
                c->staff[kl->head_teacher].id, kl->size_start);
    }
    out_close(&o);

    out_open(c, &o, "register.csv",
             "student_id,name,birth_date,sex,school_code,grade,class_name,household_id,flags");
    for (int st = 0; st < c->n_students; st++) {
        student *s = &c->students[st];
        person *p = &c->persons[s->person];
        klass *kl = &c->classes[s->klass];
        char flags[128] = "";
        size_t len = 0;
        for (size_t b = 0; b < COUNT(flag_names); b++)
            if (s->flags & (1u << b)) {
                int n = snprintf(flags + len, sizeof flags - len, "%s%s", len ? ";" : "", flag_names[b]);
                len += (size_t)n;
            }
        fprintf(o.f, "G%s,%s,%s,%c,%s,%d,%s,%s,%s\n", p->person_id, p->name, date_fmt(p->birth).s, p->sex,
                c->schools[s->school].code, kl->grade, kl->name, p->person_id, flags);
    }
    out_close(&o);

    out_open(c, &o, "staff.csv", "staff_id,name,sex,school_code,role,class_name,grades");
    for (int i = 0; i < c->n_staff; i++) {
        staff *s = &c->staff[i];
        char grades[32] = "";
        size_t len = 0;
        if (s->role == STAFF_LEADER)
            for (int g = s->grade_min; g <= s->grade_max; g++)
                len += (size_t)snprintf(grades + len, sizeof grades - len, "%s%d", len ? ";" : "", g);
        fprintf(o.f, "%s,%s,%c,%s,%s,%s,%s\n", s->id, s->name, s->sex, c->schools[s->school].code,
                staff_role_names[s->role], s->klass >= 0 ? c->classes[s->klass].name : "", grades);
    }
    out_close(&o);

    rng r;
    rng_seed(&r, c->seed, 4);
    out_open(c, &o, "responsibility.csv", "student_id,staff_id,kind,share");
    for (int st = 0; st < c->n_students; st++) {
        student *s = &c->students[st];
        school *sc = &c->schools[s->school];
        const char *sid = c->persons[s->person].person_id;
        int a = (int)rng_below(&r, (uint32_t)sc->n_teachers);
        int b = (a + 1 + (int)rng_below(&r, (uint32_t)(sc->n_teachers - 1))) % sc->n_teachers;
        fprintf(o.f, "G%s,%s,head_teacher,60\n", sid, c->staff[c->classes[s->klass].head_teacher].id);
        fprintf(o.f, "G%s,%s,teacher,20\n", sid, c->staff[sc->first_teacher + a].id);
        fprintf(o.f, "G%s,%s,teacher,20\n", sid, c->staff[sc->first_teacher + b].id);
    }
    out_close(&o);
}

static int person_cmp(const void *a, const void *b)
{
    return strcmp(((const person *)a)->person_id, ((const person *)b)->person_id);
}

/* Every enrolled child by residence, plus school-age children the register does not know. Sorted by id so
 * the children enrolled nowhere are not found by their place in the file. */
static int write_household(county *c)
{
    rng r;
    rng_seed(&r, c->seed, 5);
    int extra = c->n_students / 200;
    if (extra < 3)
        extra = 3;
    for (int i = 0; i < extra; i++) {
        int t = (int)rng_below(&r, (uint32_t)c->n_townships);
        char sex = rng_chance(&r, 0.5) ? 'M' : 'F';
        person_add(c, &r, t, birth_for_grade(&r, rng_range(&r, 1, 9)), sex);
    }
    person *sorted = xcalloc((size_t)c->n_persons, sizeof(person));
    memcpy(sorted, c->persons, (size_t)c->n_persons * sizeof(person));
    qsort(sorted, (size_t)c->n_persons, sizeof(person), person_cmp);
    out_file o;
    out_open(c, &o, "household.csv", "person_id,name,birth_date,sex,township_code");
    for (int i = 0; i < c->n_persons; i++)
        fprintf(o.f, "%s,%s,%s,%c,%s\n", sorted[i].person_id, sorted[i].name, date_fmt(sorted[i].birth).s,
                sorted[i].sex, c->townships[sorted[i].township].code);
    out_close(&o);
    free(sorted);
    return extra;
}

static void write_calendar(county *c)
{
    out_file o;
    out_open(c, &o, "calendar.csv", "date,weekday,school_day,kind,note");
    static const char *const wd[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
    for (int i = 0; i < c->n_days; i++) {
        int z = c->term_start + i;
        int sd = c->day_kind[i] == DAY_TERM || c->day_kind[i] == DAY_MAKEUP;
        fprintf(o.f, "%s,%s,%d,%s,%s\n", date_fmt(z).s, wd[weekday(z)], sd, day_kind_names[c->day_kind[i]],
                c->day_note[i]);
    }
    out_close(&o);
    out_open(c, &o, "closures.csv", "school_code,date,reason");
    for (int d = 0; d < c->n_sdays; d++)
        for (int si = 0; si < c->n_schools; si++)
            if (c->schools[si].closure[d])
                fprintf(o.f, "%s,%s,weather\n", c->schools[si].code, date_fmt(sday_date(c, d)).s);
    out_close(&o);
}

static void write_attendance(county *c)
{
    out_file rc, ab;
    out_open(c, &rc, "roll_calls.csv", "date,school_code,class_name,on_roll,present,absent");
    out_open(c, &ab, "absences.csv", "date,school_code,class_name,student_id,kind,reason");
    for (int d = 0; d < c->n_sdays; d++) {
        datestr ds = date_fmt(sday_date(c, d));
        for (int si = 0; si < c->n_schools; si++) {
            school *s = &c->schools[si];
            if (s->pos[d] < 0)
                continue;
            for (int k = s->first_class; k < s->first_class + s->n_classes; k++) {
                klass *kl = &c->classes[k];
                int on = 0, absent = 0;
                for (int m = 0; m < kl->n_members; m++) {
                    int st = kl->members[m];
                    if (roll_class(c, st, d) != k)
                        continue;
                    on++;
                    uint8_t v = *status_at(c, st, d);
                    if ((v & 3) == ST_PRESENT)
                        continue;
                    absent++;
                    int excused = (v & 3) == ST_EXCUSED;
                    fprintf(ab.f, "%s,%s,%s,G%s,%s,%s\n", ds.s, s->code, kl->name,
                            c->persons[c->students[st].person].person_id, excused ? "excused" : "unexcused",
                            excused ? excused_reasons[v >> 2] : unexcused_reasons[v >> 2]);
                }
                if (on > 0)
                    fprintf(rc.f, "%s,%s,%s,%d,%d,%d\n", ds.s, s->code, kl->name, on, on - absent, absent);
            }
        }
    }
    out_close(&rc);
    out_close(&ab);
}

static int event_cmp(const void *a, const void *b)
{
    const event *x = a, *y = b;
    if (x->sday != y->sday)
        return x->sday < y->sday ? -1 : 1;
    if (x->school != y->school)
        return x->school < y->school ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void write_reports(county *c)
{
    qsort(c->events, (size_t)c->n_events, sizeof(event), event_cmp);
    out_file o;
    out_open(c, &o, "reports.csv", "date,school_code,kind,submitted_at,late,events");
    for (int d = 0; d < c->n_sdays; d++)
        for (int si = 0; si < c->n_schools; si++) {
            size_t at = (size_t)si * (size_t)c->n_sdays + (size_t)d;
            if (c->rep[at] != REP_SUBMITTED || c->schools[si].pos[d] < 0)
                continue;
            int t = c->rep_time[at];
            fprintf(o.f, "%s,%s,%s,%02d:%02d,%d,%d\n", date_fmt(sday_date(c, d)).s, c->schools[si].code,
                    c->rep_events[at] ? "events" : "zero", t / 60, t % 60, t > DEADLINE_MIN,
                    c->rep_events[at]);
        }
    out_close(&o);
    out_open(c, &o, "events.csv", "date,school_code,student_id,kind,class_name,other_school,note");
    for (int i = 0; i < c->n_events; i++) {
        event *e = &c->events[i];
        fprintf(o.f, "%s,%s,G%s,%s,%s,%s,%s\n", date_fmt(sday_date(c, e->sday)).s, c->schools[e->school].code,
                c->persons[c->students[e->student].person].person_id, event_names[e->kind],
                c->classes[e->klass].name, other_code(c, e->other_school), e->note);
    }
    out_close(&o);
    static const char *const pk[] = {"streak", "no_show", "dropout", "transfer"};
    out_open(c, &o, "planted.csv", "kind,student_id,school_code,first_date,last_date,length,note");
    for (int i = 0; i < c->n_planted; i++) {
        planted *p = &c->planted[i];
        student *s = &c->students[p->student];
        fprintf(o.f, "%s,G%s,%s,%s,%s,%d,%s\n", pk[p->kind], c->persons[s->person].person_id,
                c->schools[s->school].code, p->first_sday >= 0 ? date_fmt(sday_date(c, p->first_sday)).s : "",
                p->last_sday >= 0 ? date_fmt(sday_date(c, p->last_sday)).s : "", p->length, p->note);
    }
    out_close(&o);
}

/* ---- truth -------------------------------------------------------------------------------------------- */
typedef struct {
    int counts[3];
} tier_day;

static void truth_streaks(county *c, FILE *f, tier_day *per_day, int *hist, int hist_len, int *totals)
{
    for (int st = 0; st < c->n_students; st++) {
        const char *sid = c->persons[c->students[st].person].person_id;
        int run = 0, run_start = -1, cur_class = -1;
        for (int d = 0; d <= c->n_sdays; d++) {
            int k = d < c->n_sdays ? roll_class(c, st, d) : -1;
            /* a day the student's school is closed (weekend, holiday, its own closure) neither counts
             * nor breaks the run; leaving the roll or changing school ends it */
            if (k >= 0 && c->schools[c->classes[k].school].pos[d] < 0)
                continue;
            int unexcused = k >= 0 && (*status_at(c, st, d) & 3) == ST_UNEXCUSED;
            if (run > 0 && (k != cur_class || !unexcused)) {
                hist[run < hist_len ? run : hist_len - 1]++;
                run = 0;
            }
            cur_class = k;
            if (!unexcused)
                continue;
            if (run == 0)
                run_start = d;
            run++;
            for (int t = 0; t < 3; t++)
                if (run == streak_tiers[t]) {
                    per_day[d].counts[t]++;
                    totals[t]++;
                    fprintf(f, "streak_case,G%s/%d/%s,%s\n", sid, streak_tiers[t],
                            date_fmt(sday_date(c, d)).s, date_fmt(sday_date(c, run_start)).s);
                }
        }
    }
}

static void write_truth(county *c, int unenrolled)
{
    out_file o;
    out_open(c, &o, "truth.csv", "metric,key,value");
    FILE *f = o.f;
    fprintf(f, "param,seed,%" PRIu64 "\n", c->seed);
    fprintf(f, "param,streak_tiers,%d/%d/%d\n", streak_tiers[0], streak_tiers[1], streak_tiers[2]);
    fprintf(f, "param,no_show_days,%d\n", NO_SHOW_DAYS);
    fprintf(f, "param,limbo_days,%d\n", LIMBO_DAYS);
    fprintf(f, "param,deadline,%02d:%02d\n", DEADLINE_MIN / 60, DEADLINE_MIN % 60);
    fprintf(f, "param,term_start,%s\n", date_fmt(c->term_start).s);
    fprintf(f, "param,term_end,%s\n", date_fmt(c->term_end).s);
    fprintf(f, "school_days,C4301,%d\n", c->n_sdays);
    fprintf(f, "townships,C4301,%d\n", c->n_townships);
    fprintf(f, "schools,C4301,%d\n", c->n_schools);
    fprintf(f, "classes,C4301,%d\n", c->n_classes);
    fprintf(f, "staff,C4301,%d\n", c->n_staff);
    fprintf(f, "enrolled,C4301,%d\n", c->n_students);

    int *per_town = xcalloc((size_t)c->n_townships, sizeof(int));
    for (int si = 0; si < c->n_schools; si++) {
        school *s = &c->schools[si];
        int n = 0;
        for (int k = s->first_class; k < s->first_class + s->n_classes; k++)
            n += c->classes[k].size_start;
        per_town[s->township] += n;
        fprintf(f, "students_school,%s,%d\n", s->code, n);
    }
    for (int t = 0; t < c->n_townships; t++)
        fprintf(f, "enrolled_township,%s,%d\n", c->townships[t].code, per_town[t]);
    free(per_town);
    for (int k = 0; k < c->n_classes; k++)
        fprintf(f, "students_class,%s/%s,%d\n", c->schools[c->classes[k].school].code, c->classes[k].name,
                c->classes[k].size_start);

    /* the expected-report grid and what came in: per day for the county and each township, and per
     * school over the term (what a township summary shows) */
    int *school_silent = xcalloc((size_t)c->n_schools, sizeof(int));
    int *school_late = xcalloc((size_t)c->n_schools, sizeof(int));
    int(*town_day)[3] = xcalloc((size_t)c->n_townships, sizeof(*town_day));
    for (int d = 0; d < c->n_sdays; d++) {
        int expected = 0, silent = 0, late = 0, zero = 0, events = 0;
        memset(town_day, 0, (size_t)c->n_townships * sizeof(*town_day));
        for (int si = 0; si < c->n_schools; si++) {
            if (c->schools[si].pos[d] < 0)
                continue;
            size_t at = (size_t)si * (size_t)c->n_sdays + (size_t)d;
            int t = c->schools[si].township;
            expected++;
            town_day[t][0]++;
            if (c->rep[at] != REP_SUBMITTED) {
                silent++;
                town_day[t][1]++;
                school_silent[si]++;
                continue;
            }
            late += c->rep_time[at] > DEADLINE_MIN;
            town_day[t][2] += c->rep_time[at] > DEADLINE_MIN;
            school_late[si] += c->rep_time[at] > DEADLINE_MIN;
            if (c->rep_events[at])
                events++;
            else
                zero++;
        }
        datestr ds = date_fmt(sday_date(c, d));
        fprintf(f, "expected_schools,%s,%d\n", ds.s, expected);
        fprintf(f, "silent_schools,%s,%d\n", ds.s, silent);
        fprintf(f, "late_reports,%s,%d\n", ds.s, late);
        fprintf(f, "zero_reports,%s,%d\n", ds.s, zero);
        fprintf(f, "events_reports,%s,%d\n", ds.s, events);
        for (int t = 0; t < c->n_townships; t++) {
            const char *tc = c->townships[t].code;
            fprintf(f, "expected_schools_township,%s/%s,%d\n", ds.s, tc, town_day[t][0]);
            fprintf(f, "silent_schools_township,%s/%s,%d\n", ds.s, tc, town_day[t][1]);
            fprintf(f, "late_reports_township,%s/%s,%d\n", ds.s, tc, town_day[t][2]);
        }
    }
    for (int si = 0; si < c->n_schools; si++) {
        fprintf(f, "expected_days_school,%s,%d\n", c->schools[si].code, c->schools[si].n_sdays);
        fprintf(f, "silent_days_school,%s,%d\n", c->schools[si].code, school_silent[si]);
        fprintf(f, "late_reports_school,%s,%d\n", c->schools[si].code, school_late[si]);
    }
    free(school_silent);
    free(school_late);
    free(town_day);

    /* absence streaks and the cases they open */
    enum { HIST = 128 };
    tier_day *per_day = xcalloc((size_t)c->n_sdays, sizeof(tier_day));
    int hist[HIST] = {0}, totals[3] = {0};
    truth_streaks(c, f, per_day, hist, HIST, totals);
    for (int d = 0; d < c->n_sdays; d++)
        for (int t = 0; t < 3; t++)
            if (per_day[d].counts[t])
                fprintf(f, "streak_cases_opened,%s/%d,%d\n", date_fmt(sday_date(c, d)).s, streak_tiers[t],
                        per_day[d].counts[t]);
    for (int t = 0; t < 3; t++)
        fprintf(f, "streak_cases_total,%d,%d\n", streak_tiers[t], totals[t]);
    for (int len = 1; len < HIST; len++)
        if (hist[len])
            fprintf(f, "streak_length_count,%d,%d\n", len, hist[len]);
    free(per_day);

    /* no-shows: not present on any of the school's first N school days (absent with or without excuse) */
    int no_shows = 0;
    for (int st = 0; st < c->n_students; st++) {
        student *s = &c->students[st];
        school *sc = &c->schools[s->school];
        if (sc->n_sdays < NO_SHOW_DAYS)
            continue;
        int present = 0;
        for (int i = 0; i < NO_SHOW_DAYS; i++)
            present |= roll_class(c, st, sc->sdays[i]) != s->klass ||
                       (*status_at(c, st, sc->sdays[i]) & 3) == ST_PRESENT;
        if (!present) {
            no_shows++;
            fprintf(f, "no_show,G%s,%s\n", c->persons[s->person].person_id,
                    date_fmt(sday_date(c, sc->sdays[NO_SHOW_DAYS - 1])).s);
        }
    }
    fprintf(f, "no_show_count,C4301,%d\n", no_shows);

    /* transfers in limbo: not confirmed by the N-th county school day after the transfer out */
    int limbo = 0;
    for (int st = 0; st < c->n_students; st++) {
        student *s = &c->students[st];
        if (s->out_day < 0)
            continue;
        int due = s->out_day + LIMBO_DAYS;
        if (due >= c->n_sdays || (s->in_day >= 0 && s->in_day <= due))
            continue;
        limbo++;
        fprintf(f, "transfer_limbo,G%s,%s\n", c->persons[s->person].person_id, date_fmt(sday_date(c, due)).s);
    }
    fprintf(f, "transfer_limbo_count,C4301,%d\n", limbo);

    /* household children enrolled nowhere */
    fprintf(f, "household_children,C4301,%d\n", c->n_persons);
    for (int i = 0; i < c->n_persons; i++)
        if (c->persons[i].enrolled < 0)
            fprintf(f, "enrolled_nowhere,%s,1\n", c->persons[i].person_id);
    fprintf(f, "enrolled_nowhere_count,C4301,%d\n", unenrolled);

    /* dropout rate per class: dropouts still away at term end / (start - out + in) */
    for (int st = 0; st < c->n_students; st++)
        if (c->students[st].dropout_day >= 0 && !c->students[st].returned_after_dropout)
            c->classes[c->students[st].klass].dropouts++;
    int total_drop = 0, total_base = 0;
    for (int k = 0; k < c->n_classes; k++) {
        klass *kl = &c->classes[k];
        const char *sc = c->schools[kl->school].code;
        int base = kl->size_start - kl->transfers_out + kl->transfers_in;
        total_drop += kl->dropouts;
        total_base += base;
        fprintf(f, "transfers_out_class,%s/%s,%d\n", sc, kl->name, kl->transfers_out);
        fprintf(f, "transfers_in_class,%s/%s,%d\n", sc, kl->name, kl->transfers_in);
        fprintf(f, "dropouts_class,%s/%s,%d\n", sc, kl->name, kl->dropouts);
        fprintf(f, "dropout_base_class,%s/%s,%d\n", sc, kl->name, base);
        if (base > 0)
            fprintf(f, "dropout_rate_class,%s/%s,%.6f\n", sc, kl->name, (double)kl->dropouts / base);
    }
    fprintf(f, "dropouts,C4301,%d\n", total_drop);
    fprintf(f, "dropout_base,C4301,%d\n", total_base);
    int n_out = 0, n_in = 0;
    for (int i = 0; i < c->n_events; i++) {
        n_out += c->events[i].kind == EV_TRANSFER_OUT;
        n_in += c->events[i].kind == EV_TRANSFER_IN;
    }
    fprintf(f, "transfers_out,C4301,%d\n", n_out);
    fprintf(f, "transfers_in,C4301,%d\n", n_in);
    fprintf(f, "events,C4301,%d\n", c->n_events);
    out_close(&o);
}

/* ---- teardown and main -------------------------------------------------------------------------------- */
static void county_finish(county *c)
{
    for (int si = 0; si < c->n_schools; si++) {
        free(c->schools[si].sdays);
        free(c->schools[si].pos);
        free(c->schools[si].closure);
    }
    for (int k = 0; k < c->n_classes; k++)
        free(c->classes[k].members);
    free(c->day_kind);
    free(c->day_note);
    free(c->county_sdays);
    free(c->townships);
    free(c->schools);
    free(c->classes);
    free(c->persons);
    free(c->students);
    free(c->staff);
    free(c->events);
    free(c->planted);
    free(c->status);
    free(c->rep);
    free(c->rep_time);
    free(c->rep_events);
    free(c->id_seq);
}

static int mkdir_p(const char *path)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++)
        if (buf[i] == '/' || buf[i] == '\0') {
            char keep = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                return -1;
            buf[i] = keep;
        }
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: gen-county [--seed N] [--small] --out DIR\n"
               "  Writes a synthetic county (CSV files and truth.csv) into DIR; same seed, same bytes.\n"
               "  --small   the 1-township, 3-school county deploy/up loads (~600 students)\n"
               "  --seed N  64-bit seed (default 1)\n");
}

int main(int argc, char **argv)
{
    county c;
    memset(&c, 0, sizeof c);
    c.seed = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--small") == 0) {
            c.small = 1;
        } else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
            char *end;
            errno = 0;
            c.seed = strtoull(argv[++i], &end, 10);
            if (errno || *end || end == argv[i]) {
                fprintf(stderr, "gen-county: --seed wants a number, not '%s'\n", argv[i]);
                return 2;
            }
        } else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
            c.out = argv[++i];
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "gen-county: unknown argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (!c.out) {
        fprintf(stderr, "gen-county: --out DIR is required\n");
        return 2;
    }
    if (mkdir_p(c.out) != 0) {
        fprintf(stderr, "gen-county: cannot create %s: %s\n", c.out, strerror(errno));
        return 1;
    }
    calendar_build(&c);
    county_build(&c);
    school_calendars_build(&c);
    reports_draw(&c);
    scenario_build(&c);
    write_structure(&c);
    int unenrolled = write_household(&c);
    write_calendar(&c);
    write_attendance(&c);
    write_truth(&c, unenrolled);
    write_reports(&c);
    county_finish(&c);
    return 0;
}
