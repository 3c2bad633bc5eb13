/* make_model.c - writes an untrained model file: He-initialized weights,
 * optionally with a pretrained backbone copied in by tensor name. Used to
 * test ./infer and the CGI program before a trained model exists.
 *
 *   make_model --arch inception_v3|vgg16 [--input-size N] [--head-attach L]
 *              [--head-hidden N] [--head-dropout F] [--seed N]
 *              [--backbone FILE] --out FILE
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

static void usage(FILE *to)
{
    fprintf(to,
            "usage: make_model --arch inception_v3|vgg16 --out FILE\n"
            "                  [--input-size N] [--head-attach LAYER]\n"
            "                  [--head-hidden N] [--head-dropout F] [--seed N]\n"
            "                  [--backbone FILE.safetensors]\n"
            "Writes a model with He-initialized weights (an UNTRAINED model:\n"
            "its predictions are meaningless); --backbone copies every tensor\n"
            "of FILE whose name and shape match (e.g. the converted nsfwjs\n"
            "InceptionV3) over them.\n");
}

static int parse_int(const char *flag, const char *s, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < 0 || v > 100000) {
        fprintf(stderr, "make_model: %s: '%s' is not a valid number\n", flag, s);
        return 0;
    }
    *out = (int)v;
    return 1;
}

int main(int argc, char **argv)
{
    const char *arch = NULL, *out = NULL, *backbone = NULL, *attach = NULL;
    int size = 0, hidden = -1, seed = 1;
    float dropout = -1;
    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i];
        if (strcmp(flag, "--help") == 0 || strcmp(flag, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "make_model: %s needs a value\n", flag);
            usage(stderr);
            return 2;
        }
        const char *v = argv[++i];
        int ok = 1;
        if (strcmp(flag, "--arch") == 0)
            arch = v;
        else if (strcmp(flag, "--out") == 0)
            out = v;
        else if (strcmp(flag, "--backbone") == 0)
            backbone = v;
        else if (strcmp(flag, "--head-attach") == 0)
            attach = v;
        else if (strcmp(flag, "--input-size") == 0)
            ok = parse_int(flag, v, &size);
        else if (strcmp(flag, "--head-hidden") == 0)
            ok = parse_int(flag, v, &hidden);
        else if (strcmp(flag, "--seed") == 0)
            ok = parse_int(flag, v, &seed);
        else if (strcmp(flag, "--head-dropout") == 0) {
            char *end;
            dropout = strtof(v, &end);
            ok = end != v && !*end;
            if (!ok)
                fprintf(stderr, "make_model: --head-dropout: '%s' is not a number\n", v);
        } else {
            fprintf(stderr, "make_model: unknown option %s\n", flag);
            usage(stderr);
            return 2;
        }
        if (!ok)
            return 2;
    }
    if (!arch || !out) {
        fprintf(stderr, "make_model: --arch and --out are required\n");
        usage(stderr);
        return 2;
    }
    cnn_error err;
    cnn_arch a;
    if (cnn_arch_parse(arch, &a, &err) != CNN_OK) {
        fprintf(stderr, "make_model: %s\n", err.message);
        return 2;
    }
    cnn_model_config cfg;
    cnn_model_config_default(&cfg, a);
    if (size)
        cfg.input_size = size;
    if (hidden >= 0)
        cfg.head_hidden = hidden;
    if (dropout >= 0)
        cfg.head_dropout = dropout;
    if (attach) {
        if (strlen(attach) >= sizeof cfg.head_attach) {
            fprintf(stderr, "make_model: --head-attach: name too long\n");
            return 2;
        }
        strcpy(cfg.head_attach, attach);
    }
    snprintf(cfg.provenance, sizeof cfg.provenance,
             "untrained: He-initialized (seed %d) by tools/make_model%s%s", seed,
             backbone ? ", backbone tensors copied from " : "",
             backbone ? backbone : "");

    cnn_model *m;
    if (cnn_model_create(&m, &cfg, (uint64_t)seed, &err) != CNN_OK) {
        fprintf(stderr, "make_model: %s\n", err.message);
        return 1;
    }
    if (backbone) {
        int copied;
        if (cnn_model_load_matching(m, backbone, &copied, &err) != CNN_OK) {
            fprintf(stderr, "make_model: %s\n", err.message);
            cnn_model_free(m);
            return 1;
        }
        if (copied == 0) {
            fprintf(stderr, "make_model: no tensor of %s matches a %s parameter\n",
                    backbone, cnn_arch_name(a));
            cnn_model_free(m);
            return 1;
        }
        printf("copied %d of %d tensors from %s\n", copied,
               cnn_net_param_count(cnn_model_net(m)), backbone);
    }
    if (cnn_model_save(m, out, NULL, &err) != CNN_OK) {
        fprintf(stderr, "make_model: %s\n", err.message);
        cnn_model_free(m);
        return 1;
    }
    printf("wrote %s: %s, input %d, head at %s, %zu parameters\n", out,
           cnn_arch_name(a), cfg.input_size, cfg.head_attach,
           cnn_net_total_params(cnn_model_net(m)));
    cnn_model_free(m);
    return 0;
}
