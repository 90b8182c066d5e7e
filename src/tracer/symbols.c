/* symbols.c — resolve traced addresses to names once, at the end.
 *
 * dladdr() only sees the dynamic symbol table, which holds exported names;
 * the functions of an executable that was not linked with -rdynamic, and
 * every static function, are only in .symtab.  So for each object we map
 * its file and read .symtab (or .dynsym when stripped) with <elf.h>.  We do
 * this by hand rather than with libelf because the code runs inside the
 * traced process and needs nothing but two section headers; a library
 * dependency there would be loaded into every traced program. */
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/intern.h"
#include "tracer/symbols.h"

#define NOINSTR __attribute__((no_instrument_function))

struct fsym {
    uint64_t value, size;
    const char *name; /* points into the mapped file */
};

struct object {
    struct object *next;
    const void *base; /* dli_fbase */
    char module[128];
    int is_dyn; /* ET_DYN: symbol values are offsets from base */
    void *map;
    size_t map_len;
    struct fsym *syms; /* sorted by value */
    size_t nsyms;
};

struct rt_syms {
    struct object *objects;
    intern addrs; /* an address's index in names[], by the address's bytes */
    char **names; /* the resolved names, in the order first asked */
    size_t cap;
};

NOINSTR struct rt_syms *rt_syms_new(void)
{
    return calloc(1, sizeof(struct rt_syms));
}

NOINSTR void rt_syms_free(struct rt_syms *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->addrs.n; i++)
        free(s->names[i]);
    free(s->names);
    intern_free(&s->addrs);
    while (s->objects) {
        struct object *o = s->objects;
        s->objects = o->next;
        if (o->map)
            munmap(o->map, o->map_len);
        free(o->syms);
        free(o);
    }
    free(s);
}

NOINSTR static int sym_cmp(const void *a, const void *b)
{
    const struct fsym *x = a, *y = b;
    return x->value < y->value ? -1 : x->value > y->value;
}

/* Read the function symbols of one section into o->syms. */
NOINSTR static void load_symtab(struct object *o, const Elf64_Shdr *sh, const Elf64_Shdr *str)
{
    const char *base = o->map;
    if (sh->sh_offset + sh->sh_size > o->map_len || str->sh_offset + str->sh_size > o->map_len ||
        sh->sh_entsize != sizeof(Elf64_Sym))
        return;
    size_t n = sh->sh_size / sizeof(Elf64_Sym);
    const Elf64_Sym *sym = (const Elf64_Sym *)(const void *)(base + sh->sh_offset);
    o->syms = malloc((n ? n : 1) * sizeof *o->syms);
    if (!o->syms)
        return;
    for (size_t i = 0; i < n; i++) {
        if (ELF64_ST_TYPE(sym[i].st_info) != STT_FUNC || sym[i].st_value == 0 ||
            sym[i].st_name >= str->sh_size)
            continue;
        o->syms[o->nsyms].value = sym[i].st_value;
        o->syms[o->nsyms].size = sym[i].st_size;
        o->syms[o->nsyms].name = base + str->sh_offset + sym[i].st_name;
        o->nsyms++;
    }
    qsort(o->syms, o->nsyms, sizeof *o->syms, sym_cmp);
}

NOINSTR static void load_elf(struct object *o, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return;
    if (fstat(fd, &st) == 0 && (size_t)st.st_size >= sizeof(Elf64_Ehdr)) {
        void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m != MAP_FAILED) {
            o->map = m;
            o->map_len = (size_t)st.st_size;
        }
    }
    close(fd);
    if (!o->map)
        return;
    const Elf64_Ehdr *eh = o->map;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
        eh->e_shentsize != sizeof(Elf64_Shdr) ||
        eh->e_shoff + (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr) > o->map_len)
        return;
    o->is_dyn = eh->e_type == ET_DYN;
    const Elf64_Shdr *sh = (const Elf64_Shdr *)(const void *)((const char *)o->map + eh->e_shoff);
    const Elf64_Shdr *dyn = NULL;
    for (unsigned i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_link >= eh->e_shnum)
            continue;
        if (sh[i].sh_type == SHT_SYMTAB) {
            load_symtab(o, &sh[i], &sh[sh[i].sh_link]);
            return;
        }
        if (sh[i].sh_type == SHT_DYNSYM)
            dyn = &sh[i];
    }
    if (dyn)
        load_symtab(o, dyn, &sh[dyn->sh_link]);
}

NOINSTR static struct object *object_for(struct rt_syms *s, const Dl_info *info)
{
    for (struct object *o = s->objects; o; o = o->next)
        if (o->base == info->dli_fbase)
            return o;
    struct object *o = calloc(1, sizeof *o);
    if (!o)
        return NULL;
    o->base = info->dli_fbase;
    char exe[4096];
    const char *path = info->dli_fname;
    if (!path || !path[0]) {
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        exe[n > 0 ? n : 0] = '\0';
        path = exe;
    }
    const char *slash = strrchr(path, '/');
    const char *m = slash ? slash + 1 : path;
    size_t mlen = strnlen(m, sizeof o->module - 1);
    memcpy(o->module, m, mlen);
    o->module[mlen] = '\0';
    char *dot = strchr(o->module, '.');
    if (dot && dot != o->module)
        *dot = '\0';
    if (!o->module[0])
        snprintf(o->module, sizeof o->module, "unknown");
    load_elf(o, path);
    o->next = s->objects;
    s->objects = o;
    return o;
}

NOINSTR static char *resolve(struct rt_syms *s, uintptr_t addr)
{
    Dl_info info;
    char buf[1024];
    if (!dladdr((void *)addr, &info)) {
        snprintf(buf, sizeof buf, "unknown.%#lx", (unsigned long)addr);
        return strdup(buf);
    }
    struct object *o = object_for(s, &info);
    const char *module = o ? o->module : "unknown";
    if (info.dli_sname && (uintptr_t)info.dli_saddr == addr) {
        snprintf(buf, sizeof buf, "%s.%s", module, info.dli_sname);
        return strdup(buf);
    }
    uint64_t off = (uint64_t)(addr - (uintptr_t)info.dli_fbase);
    uint64_t key = o && !o->is_dyn ? (uint64_t)addr : off;
    if (o && o->nsyms) {
        size_t lo = 0, hi = o->nsyms;
        while (hi - lo > 1) {
            size_t mid = (lo + hi) / 2;
            if (o->syms[mid].value <= key)
                lo = mid;
            else
                hi = mid;
        }
        const struct fsym *f = &o->syms[lo];
        if (f->value <= key && (key < f->value + f->size || (f->size == 0 && key == f->value))) {
            snprintf(buf, sizeof buf, "%s.%s", module, f->name);
            return strdup(buf);
        }
    }
    snprintf(buf, sizeof buf, "%s.%#llx", module, (unsigned long long)off);
    return strdup(buf);
}

NOINSTR const char *rt_syms_name(struct rt_syms *s, uintptr_t addr)
{
    size_t seen = s->addrs.n;
    if (seen == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 1024;
        char **v = realloc(s->names, cap * sizeof *v);
        if (!v)
            return "?";
        s->names = v;
        s->cap = cap;
    }
    int64_t id = intern_id(&s->addrs, (const char *)&addr, sizeof addr);
    if (id < 0)
        return "?";
    if ((size_t)id < seen)
        return s->names[id] ? s->names[id] : "?";
    char *name = resolve(s, addr);
    /* A name must not break the 4-column line. */
    for (char *p = name; p && *p; p++)
        if (*p == ' ' || *p == '\t' || *p == '\n')
            *p = '_';
    s->names[id] = name; /* NULL (out of memory) stays "?" */
    return name ? name : "?";
}
