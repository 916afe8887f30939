/* What libx264 costs per 1920x1080 frame of a mostly static desktop, with the host's x264enc
 * settings (ultrafast, zerolatency, CBR with VBV, no lookahead): a synthetic NV12 screen on which
 * only a box of BOX_W x BOX_H changes each frame (a moving window), encoded with and without
 * per-macroblock "unchanged" hints (x264_picture_t.prop.mb_info, X264_MBINFO_CONSTANT, which
 * x264enc cannot pass) and with rate control (CBR: x264 keeps quarter-resolution copies of its
 * input for that) or a constant QP. Prints CPU ms per frame (encoder calls only), kbit/s and the
 * process's peak RSS. Built and run by ci/bench-x264; results in docs/benchmarks.md.
 * Optional arguments: "flat" makes every frame a different flat colour over the whole screen
 * (a desktop background changing: every macroblock coded), and then a slice-thread count; with
 * them it prints wall-clock ms per frame instead, so that slice threads can be judged. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <x264.h>

#define W 1920
#define H 1080

static clockid_t clock_id = CLOCK_THREAD_CPUTIME_ID;

static double thread_cpu_ms(void) {
  struct timespec t;
  clock_gettime(clock_id, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* The static background: a fine pattern, like text and window edges. */
static uint8_t background(int x, int y) { return (uint8_t)((x * 7 + y * 3) ^ (x >> 3)); }

int main(int argc, char **argv) {
  if (argc < 6 || atoi(argv[4]) < 1 || atoi(argv[4]) > W || atoi(argv[5]) < 1 || atoi(argv[5]) > H) {
    fprintf(stderr, "usage: %s cbr|cqp hints(0|1) frames box_w box_h [flat [threads]]\n", argv[0]);
    return 2;
  }
  const int cqp = strcmp(argv[1], "cqp") == 0, hints = atoi(argv[2]), frames = atoi(argv[3]);
  const int bw = atoi(argv[4]), bh = atoi(argv[5]);
  const int flat = argc > 6 && strcmp(argv[6], "flat") == 0;
  const char *threads = argc > 7 ? argv[7] : "1";
  if (flat) clock_id = CLOCK_MONOTONIC;
  x264_param_t p;
  x264_param_default_preset(&p, "ultrafast", "zerolatency");
  p.i_width = W;
  p.i_height = H;
  p.i_csp = X264_CSP_NV12;
  p.i_fps_num = 30;
  p.i_fps_den = 1;
  p.i_log_level = X264_LOG_WARNING;
  /* The host's x264enc properties (host/proto/src/encoder/registry.rs) as x264 options. */
  const char *opts[][2] = {
      {"threads", threads},      {"sliced-threads", "1"}, {"keyint", "infinite"}, {"bframes", "0"},
      {"rc-lookahead", "0"}, {"sync-lookahead", "0"}, {"mbtree", "0"},        {"8x8dct", "0"},
      {"annexb", "1"},       {"repeat-headers", "1"},
  };
  for (unsigned i = 0; i < sizeof opts / sizeof opts[0]; i++)
    if (x264_param_parse(&p, opts[i][0], opts[i][1])) return fprintf(stderr, "bad option %s\n", opts[i][0]), 1;
  if (cqp) {
    x264_param_parse(&p, "qp", "26");
  } else {
    x264_param_parse(&p, "bitrate", "4000");
    x264_param_parse(&p, "vbv-maxrate", "4000");
    x264_param_parse(&p, "vbv-bufsize", "533");
  }
  p.analyse.b_mb_info = hints;
  x264_t *h = x264_encoder_open(&p);
  if (!h) return fprintf(stderr, "x264_encoder_open failed\n"), 1;
  x264_picture_t pic, out;
  x264_picture_alloc(&pic, X264_CSP_NV12, W, H);
  uint8_t *y = pic.img.plane[0], *uv = pic.img.plane[1];
  const int ys = pic.img.i_stride[0], uvs = pic.img.i_stride[1];
  for (int r = 0; r < H; r++)
    for (int c = 0; c < W; c++) y[r * ys + c] = background(c, r);
  for (int r = 0; r < H / 2; r++)
    for (int c = 0; c < W; c++) uv[r * uvs + c] = (uint8_t)(128 + ((c + r) & 15));
  const int mbw = (W + 15) / 16, mbh = (H + 15) / 16;
  uint8_t *info = malloc((size_t)mbw * mbh);
  int px = 0, py = 0;
  double cpu = 0;
  long bytes = 0;
  for (int f = 0; f < frames; f++) {
    const int ox = px, oy = py;
    px = (f * 7) % (W - bw + 1);
    py = (f * 3) % (H - bh + 1);
    if (flat) {
      memset(y, 60 + (f % 2) * 100, (size_t)ys * H);
      memset(uv, 100 + (f % 2) * 50, (size_t)uvs * (H / 2));
    } else {
      for (int r = oy; r < oy + bh; r++)
        for (int c = ox; c < ox + bw; c++) y[r * ys + c] = background(c, r);
      for (int r = py; r < py + bh; r++)
        for (int c = px; c < px + bw; c++) y[r * ys + c] = (uint8_t)(40 + ((c - px + f) * (r - py)) % 200);
    }
    if (hints) {
      /* Unchanged: every macroblock outside the old and the new box (what damage would say). */
      memset(info, X264_MBINFO_CONSTANT, (size_t)mbw * mbh);
      const int x0 = (ox < px ? ox : px) / 16, y0 = (oy < py ? oy : py) / 16;
      const int x1 = ((ox > px ? ox : px) + bw + 15) / 16, y1 = ((oy > py ? oy : py) + bh + 15) / 16;
      for (int r = y0; r < y1 && r < mbh; r++)
        for (int c = x0; c < x1 && c < mbw; c++) info[r * mbw + c] = 0;
      pic.prop.mb_info = f ? info : NULL;
      pic.prop.mb_info_free = NULL;
    }
    pic.i_pts = f;
    pic.i_type = X264_TYPE_AUTO;
    x264_nal_t *nal;
    int n;
    const double t0 = thread_cpu_ms();
    const int size = x264_encoder_encode(h, &nal, &n, &pic, &out);
    cpu += thread_cpu_ms() - t0;
    if (size < 0) return fprintf(stderr, "x264_encoder_encode failed\n"), 1;
    bytes += size;
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("| %s | %s | %dx%d | %.2f | %.0f | %.1f |\n", cqp ? "constant QP 26" : "CBR 4000 kbit/s + VBV",
         hints ? "yes" : "no", bw, bh, cpu / frames, bytes * 8.0 / 1000 / (frames / 30.0), ru.ru_maxrss / 1024.0);
  x264_encoder_close(h);
  x264_picture_clean(&pic);
  free(info);
  return 0;
}
