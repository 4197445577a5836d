// ctlab's optional native kernels: convolution (forward, backward data, backward weights) through
// oneDNN, and GEMM through OpenBLAS (cblas_sgemm) or oneDNN (dnnl_sgemm), plus an im2col + GEMM
// convolution on OpenBLAS. Every function works on a Float32Array view of memory owned by the
// caller (the TF.js wasm backend's heap) and element offsets into it; nothing is allocated on the
// JS side and no JS object is kept. Runs synchronously on the calling thread; the libraries use
// their own thread pools (OpenMP for oneDNN, pthreads for OpenBLAS) with the count set by
// setThreads().
//
// Plain N-API (node_api.h), so the .node file works across Node versions with N-API 8.

#include <node_api.h>

#include <cblas.h>
#include <omp.h>
#include <pthread.h>
#include <signal.h>
#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>
#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

namespace {

// ------------------------------------------------------------------------------------------------
// N-API helpers

struct JsError {
  std::string msg;
};

#define NAPI_OK(call)                                                   \
  do {                                                                  \
    if ((call) != napi_ok) throw JsError{std::string("napi: ") + #call}; \
  } while (0)

std::vector<napi_value> args(napi_env env, napi_callback_info info, size_t want) {
  size_t argc = want;
  std::vector<napi_value> argv(want);
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv.data(), nullptr, nullptr));
  if (argc < want) throw JsError{"expected " + std::to_string(want) + " arguments, got " + std::to_string(argc)};
  return argv;
}

int64_t i64(napi_env env, napi_value v, const char* what) {
  int64_t out = 0;
  if (napi_get_value_int64(env, v, &out) != napi_ok) throw JsError{std::string(what) + ": expected a number"};
  return out;
}

/** A Float32Array's data pointer and length (elements). Works for views over SharedArrayBuffer. */
float* f32(napi_env env, napi_value v, size_t* length) {
  bool is = false;
  NAPI_OK(napi_is_typedarray(env, v, &is));
  if (!is) throw JsError{"expected a Float32Array (the heap view)"};
  napi_typedarray_type type;
  void* data = nullptr;
  NAPI_OK(napi_get_typedarray_info(env, v, &type, length, &data, nullptr, nullptr));
  if (type != napi_float32_array) throw JsError{"expected a Float32Array, got another typed array"};
  if (data == nullptr) throw JsError{"Float32Array has no data pointer (detached?)"};
  return static_cast<float*>(data);
}

/** Dimensions from a JS array of numbers. */
std::vector<int64_t> dims(napi_env env, napi_value v, size_t want, const char* what) {
  bool is = false;
  NAPI_OK(napi_is_array(env, v, &is));
  if (!is) throw JsError{std::string(what) + ": expected an array of " + std::to_string(want) + " integers"};
  uint32_t n = 0;
  NAPI_OK(napi_get_array_length(env, v, &n));
  if (n != want) throw JsError{std::string(what) + ": expected " + std::to_string(want) + " integers, got " + std::to_string(n)};
  std::vector<int64_t> out(n);
  for (uint32_t i = 0; i < n; i++) {
    napi_value e;
    NAPI_OK(napi_get_element(env, v, i, &e));
    out[i] = i64(env, e, what);
  }
  return out;
}

/** Pointer at element offset `off` of a heap of `len` elements, checking that `count` fit. */
float* at(float* heap, size_t len, int64_t off, int64_t count, const char* what) {
  if (off < 0 || count < 0 || static_cast<uint64_t>(off) + static_cast<uint64_t>(count) > len)
    throw JsError{std::string(what) + ": offset " + std::to_string(off) + " + " + std::to_string(count) +
                  " elements lies outside the heap (" + std::to_string(len) + " elements)"};
  return heap + off;
}

napi_value undefinedValue(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

template <typename F>
napi_value guarded(napi_env env, F&& f) {
  try {
    return f();
  } catch (const JsError& e) {
    napi_throw_error(env, "CTLAB_NATIVE", e.msg.c_str());
  } catch (const dnnl::error& e) {
    napi_throw_error(env, "CTLAB_NATIVE_DNNL", (std::string("oneDNN: ") + e.what()).c_str());
  } catch (const std::exception& e) {
    napi_throw_error(env, "CTLAB_NATIVE", e.what());
  }
  return nullptr;
}

// ------------------------------------------------------------------------------------------------
// Signals held while oneDNN code runs. oneDNN's JIT GEMM (dnnl_sgemm, also behind gemm-based
// convolutions) points the stack pointer into a heap buffer while it runs, so a signal handled on
// that thread writes its frame over the heap (oneDNN#4845; fixed in 3.11.2, Debian ships 2.6.3).
// Node handles SIGINT/SIGTERM (the trainer's clean stop, Slurm's preemption) and the V8 profiler
// sends SIGPROF: under `node --cpu-prof` a 2D MLP run aborted with "corrupted size vs. prev_size".
// Asynchronous signals are blocked on the calling thread for the call and delivered after it; the
// OpenMP workers are started under the same mask (setThreadsImpl), so none of them takes a signal
// either. Synchronous fault signals stay unblocked.

class SignalsHeld {
 public:
  SignalsHeld() {
    sigset_t s;
    sigfillset(&s);
    for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT, SIGSYS}) sigdelset(&s, sig);
    pthread_sigmask(SIG_BLOCK, &s, &old_);
  }
  ~SignalsHeld() { pthread_sigmask(SIG_SETMASK, &old_, nullptr); }
  SignalsHeld(const SignalsHeld&) = delete;
  SignalsHeld& operator=(const SignalsHeld&) = delete;

 private:
  sigset_t old_;
};

// ------------------------------------------------------------------------------------------------
// Subnormal floats. The network kernels (convolutions, GEMMs, the MLP, GroupNorm, SiLU, element-wise
// ops, the distance) run with the SSE/AVX modes flush-to-zero and denormals-are-zero (FTZ/DAZ):
// a subnormal result or operand counts as 0, as in TensorFlow's CPU kernels. Without them, a 2D MLP
// trained for 15,000 steps took 30-67 ms a step instead of ~11: products in its gradient underflow
// (dz = dh·silu'(z) for very negative z) and every GEMM over them takes microcode assists. The modes
// are set on the calling thread for the call and restored after it (JS and the wasm kernels on that
// thread need IEEE subnormals); the OpenMP workers keep them (setThreadsImpl), as they run only
// these kernels. The optimizer kernels (Adam, EMA) keep IEEE subnormals: they stay bit-identical to
// the wasm kernels. (OpenBLAS's own worker threads, started when the library loads, keep the default.)

#if defined(__x86_64__) || defined(__i386__)
constexpr unsigned kFlushModes = 0x8040;  // MXCSR bits FTZ (15) and DAZ (6)
class FlushSubnormals {
 public:
  FlushSubnormals() : old_(_mm_getcsr()) { _mm_setcsr(old_ | kFlushModes); }
  ~FlushSubnormals() { _mm_setcsr(old_); }
  FlushSubnormals(const FlushSubnormals&) = delete;
  FlushSubnormals& operator=(const FlushSubnormals&) = delete;

 private:
  unsigned old_;
};
inline void flushSubnormalsForGood() { _mm_setcsr(_mm_getcsr() | kFlushModes); }
#else
struct FlushSubnormals {};
inline void flushSubnormalsForGood() {}
#endif

// ------------------------------------------------------------------------------------------------
// Threads

int g_threads = 1;

void setThreadsImpl(int n) {
  if (n < 1) n = 1;
  g_threads = n;
  SignalsHeld held;  // threads started here inherit the blocked mask (see SignalsHeld)
  omp_set_num_threads(n);
  openblas_set_num_threads(n);
#pragma omp parallel num_threads(n)
  {
    // starts the OpenMP workers now, under the mask; they flush subnormals for good (the calling
    // thread only inside the kernels: FlushSubnormals)
    if (omp_get_thread_num() != 0) flushSubnormalsForGood();
  }
}

// ------------------------------------------------------------------------------------------------
// Convolution geometry: NHWC activations, HWIO filters (TF.js layouts).

struct Conv {
  int64_t N, H, W, Ci, Co, KH, KW, sh, sw, dh, dw, pt, pl, pb, pr, Ho, Wo;
  explicit Conv(const std::vector<int64_t>& d)
      : N(d[0]), H(d[1]), W(d[2]), Ci(d[3]), Co(d[4]), KH(d[5]), KW(d[6]), sh(d[7]), sw(d[8]), dh(d[9]), dw(d[10]),
        pt(d[11]), pl(d[12]), pb(d[13]), pr(d[14]), Ho(d[15]), Wo(d[16]) {
    for (int i = 0; i < 17; i++)
      if (d[i] < (i >= 11 && i <= 14 ? 0 : 1)) throw JsError{"conv geometry: entry " + std::to_string(i) + " out of range"};
  }
  int64_t xSize() const { return N * H * W * Ci; }
  int64_t ySize() const { return N * Ho * Wo * Co; }
  int64_t wSize() const { return KH * KW * Ci * Co; }
  std::string key(char kind) const {
    std::string k(1, kind);
    for (int64_t v : {N, H, W, Ci, Co, KH, KW, sh, sw, dh, dw, pt, pl, pb, pr, Ho, Wo, static_cast<int64_t>(g_threads)}) {
      k += ',';
      k += std::to_string(v);
    }
    return k;
  }
};

// ------------------------------------------------------------------------------------------------
// oneDNN

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

dnnl::engine& engine() {
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}
dnnl::stream& stream() {
  static dnnl::stream s(engine());
  return s;
}

struct DnnlConv {
  // the primitive, its memories with user handles, and the reorders between the user's HWIO filter
  // and the primitive's preferred filter layout; with `blocked`, also between the NHWC activations
  // and the primitive's (oneDNN's choice, nChw8c for AVX2), through the shared scratch buffers
  dnnl::primitive prim;
  memory src, wei, bias, dst;            // user-layout memories (handles set per call)
  memory weiPrim;                        // filter in the primitive's layout (owned), or == wei
  bool reorderWei = false;
  dnnl::reorder weiReorder;
  memory srcPrim, dstPrim;               // activations in the primitive's layout (scratch handles), or == src / dst
  bool reorderSrc = false, reorderDst = false;
  dnnl::reorder srcReorder, dstReorder;  // in the direction the data flows for this kind
  bool hasBias = false;
  std::string impl;
};

// Scratch for activations in the primitive's layout: one for x-shaped, one for y-shaped tensors,
// grown as needed and shared by every primitive (they run one at a time)
struct Scratch {
  float* data = nullptr;
  size_t bytes = 0;
  void release() {
    std::free(data);
    data = nullptr;
    bytes = 0;
  }
  float* get(size_t need) {
    if (need > bytes) {
      std::free(data);
      bytes = (need + 63) / 64 * 64;
      data = static_cast<float*>(std::aligned_alloc(64, bytes));
      if (data == nullptr) throw std::bad_alloc();
    }
    return data;
  }
};
Scratch g_srcScratch, g_dstScratch;

std::unordered_map<std::string, std::unique_ptr<DnnlConv>> g_convCache;

memory::dims nchw(int64_t n, int64_t c, int64_t h, int64_t w) { return {n, c, h, w}; }

// activations as given (NHWC), or in the layout oneDNN prefers (`blocked`: tag::any)
memory::desc actDesc(int64_t n, int64_t ch, int64_t h, int64_t w, bool blocked) {
  return memory::desc(nchw(n, ch, h, w), dt::f32, blocked ? tag::any : tag::nhwc);
}

dnnl::convolution_forward::primitive_desc fwdPd(const Conv& c, bool bias, bool blocked) {
  auto& eng = engine();
  memory::desc src = actDesc(c.N, c.Ci, c.H, c.W, blocked);
  memory::desc wei({c.Co, c.Ci, c.KH, c.KW}, dt::f32, tag::any);
  memory::desc dst = actDesc(c.N, c.Co, c.Ho, c.Wo, blocked);
  memory::dims strides{c.sh, c.sw}, dil{c.dh - 1, c.dw - 1}, pl{c.pt, c.pl}, pr{c.pb, c.pr};
  if (bias) {
    memory::desc b({c.Co}, dt::f32, tag::x);
    dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, src, wei, b, dst,
                                      strides, dil, pl, pr);
    return dnnl::convolution_forward::primitive_desc(d, eng);
  }
  dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, src, wei, dst, strides,
                                    dil, pl, pr);
  return dnnl::convolution_forward::primitive_desc(d, eng);
}

memory::desc userWeiDesc(const Conv& c) { return memory::desc({c.Co, c.Ci, c.KH, c.KW}, dt::f32, tag::hwio); }

DnnlConv& dnnlConv(const Conv& c, char kind, bool bias, bool blocked) {
  std::string key = c.key(kind) + (bias ? "b" : "") + (blocked ? "B" : "");
  auto it = g_convCache.find(key);
  if (it != g_convCache.end()) return *it->second;
  if (g_convCache.size() >= 512) g_convCache.clear();  // many shapes (e.g. evaluation batches): start over
  auto& eng = engine();
  auto p = std::make_unique<DnnlConv>();
  memory::desc srcU(nchw(c.N, c.Ci, c.H, c.W), dt::f32, tag::nhwc);
  memory::desc dstU(nchw(c.N, c.Co, c.Ho, c.Wo), dt::f32, tag::nhwc);
  memory::desc srcD = actDesc(c.N, c.Ci, c.H, c.W, blocked);
  memory::desc dstD = actDesc(c.N, c.Co, c.Ho, c.Wo, blocked);
  memory::desc weiU = userWeiDesc(c);
  auto fwd = fwdPd(c, bias, blocked);
  memory::desc weiP, srcP, dstP;
  if (kind == 'f') {
    p->prim = dnnl::convolution_forward(fwd);
    weiP = fwd.weights_desc();
    srcP = fwd.src_desc();
    dstP = fwd.dst_desc();
    p->impl = fwd.impl_info_str();
  } else if (kind == 'd') {
    memory::desc wei({c.Co, c.Ci, c.KH, c.KW}, dt::f32, tag::any);
    dnnl::convolution_backward_data::desc d(dnnl::algorithm::convolution_direct, srcD, wei, dstD, {c.sh, c.sw}, {c.dh - 1, c.dw - 1},
                                            {c.pt, c.pl}, {c.pb, c.pr});
    dnnl::convolution_backward_data::primitive_desc pd(d, eng, fwd);
    p->prim = dnnl::convolution_backward_data(pd);
    weiP = pd.weights_desc();
    srcP = pd.diff_src_desc();
    dstP = pd.diff_dst_desc();
    p->impl = pd.impl_info_str();
  } else {
    memory::desc wei({c.Co, c.Ci, c.KH, c.KW}, dt::f32, tag::any);
    dnnl::convolution_backward_weights::desc d(dnnl::algorithm::convolution_direct, srcD, wei, dstD, {c.sh, c.sw},
                                               {c.dh - 1, c.dw - 1}, {c.pt, c.pl}, {c.pb, c.pr});
    dnnl::convolution_backward_weights::primitive_desc pd(d, eng, fwd);
    p->prim = dnnl::convolution_backward_weights(pd);
    weiP = pd.diff_weights_desc();
    srcP = pd.src_desc();
    dstP = pd.diff_dst_desc();
    p->impl = pd.impl_info_str();
  }
  p->src = memory(srcU, eng, DNNL_MEMORY_NONE);
  p->dst = memory(dstU, eng, DNNL_MEMORY_NONE);
  // activations: x flows into the primitive for 'f' and 'w' and out of it for 'd' (dx); y out for
  // 'f', in for 'd' and 'w' (dy)
  p->reorderSrc = srcP != srcU;
  p->srcPrim = p->reorderSrc ? memory(srcP, eng, DNNL_MEMORY_NONE) : p->src;
  if (p->reorderSrc) p->srcReorder = kind == 'd' ? dnnl::reorder(p->srcPrim, p->src) : dnnl::reorder(p->src, p->srcPrim);
  p->reorderDst = dstP != dstU;
  p->dstPrim = p->reorderDst ? memory(dstP, eng, DNNL_MEMORY_NONE) : p->dst;
  if (p->reorderDst) p->dstReorder = kind == 'f' ? dnnl::reorder(p->dstPrim, p->dst) : dnnl::reorder(p->dst, p->dstPrim);
  p->impl += p->reorderSrc || p->reorderDst ? " (blocked activations)" : "";
  p->wei = memory(weiU, eng, DNNL_MEMORY_NONE);
  p->hasBias = bias;
  if (bias) p->bias = memory(memory::desc({c.Co}, dt::f32, tag::x), eng, DNNL_MEMORY_NONE);
  if (weiP != weiU) {
    p->reorderWei = true;
    p->weiPrim = memory(weiP, eng);
    p->weiReorder = kind == 'w' ? dnnl::reorder(p->weiPrim, p->wei) : dnnl::reorder(p->wei, p->weiPrim);
  } else {
    p->weiPrim = p->wei;
  }
  auto& ref = *p;
  g_convCache.emplace(key, std::move(p));
  return ref;
}

// kind 'f': y = conv(x, w) (+ bias); 'd': dx = conv_backward_data(dy, w); 'w': dw = conv_backward_weights(x, dy).
// `blocked`: activations reordered to and from oneDNN's preferred layout around the primitive
void dnnlRun(const Conv& c, char kind, bool blocked, float* x, float* w, float* bias, float* y) {
  SignalsHeld held;
  DnnlConv& p = dnnlConv(c, kind, bias != nullptr, blocked);
  auto& s = stream();
  p.src.set_data_handle(x);
  p.wei.set_data_handle(w);
  p.dst.set_data_handle(y);
  if (p.reorderSrc) p.srcPrim.set_data_handle(g_srcScratch.get(p.srcPrim.get_desc().get_size()));
  if (p.reorderDst) p.dstPrim.set_data_handle(g_dstScratch.get(p.dstPrim.get_desc().get_size()));
  if (p.hasBias) p.bias.set_data_handle(bias);
  if (kind == 'f') {
    if (p.reorderWei) p.weiReorder.execute(s, p.wei, p.weiPrim);
    if (p.reorderSrc) p.srcReorder.execute(s, p.src, p.srcPrim);
    std::unordered_map<int, memory> a{{DNNL_ARG_SRC, p.srcPrim}, {DNNL_ARG_WEIGHTS, p.weiPrim}, {DNNL_ARG_DST, p.dstPrim}};
    if (p.hasBias) a.emplace(DNNL_ARG_BIAS, p.bias);
    p.prim.execute(s, a);
    if (p.reorderDst) p.dstReorder.execute(s, p.dstPrim, p.dst);
  } else if (kind == 'd') {
    if (p.reorderWei) p.weiReorder.execute(s, p.wei, p.weiPrim);
    if (p.reorderDst) p.dstReorder.execute(s, p.dst, p.dstPrim);
    p.prim.execute(s, {{DNNL_ARG_DIFF_DST, p.dstPrim}, {DNNL_ARG_WEIGHTS, p.weiPrim}, {DNNL_ARG_DIFF_SRC, p.srcPrim}});
    if (p.reorderSrc) p.srcReorder.execute(s, p.srcPrim, p.src);
  } else {
    if (p.reorderSrc) p.srcReorder.execute(s, p.src, p.srcPrim);
    if (p.reorderDst) p.dstReorder.execute(s, p.dst, p.dstPrim);
    p.prim.execute(s, {{DNNL_ARG_SRC, p.srcPrim}, {DNNL_ARG_DIFF_DST, p.dstPrim}, {DNNL_ARG_DIFF_WEIGHTS, p.weiPrim}});
    if (p.reorderWei) p.weiReorder.execute(s, p.weiPrim, p.wei);
  }
  s.wait();
}

// ------------------------------------------------------------------------------------------------
// GEMM (row-major): C[M,N] = op(A)[M,K] · op(B)[K,N] (+ beta C)

enum Engine { OPENBLAS = 0, DNNL = 1 };

void gemm(int engine, bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb,
          float beta, float* C, int64_t ldc) {
  if (engine == DNNL) {
    SignalsHeld held;
    dnnl_status_t st = dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, 1.0f, A, lda, B, ldb, beta, C, ldc);
    if (st != dnnl_success) throw JsError{"dnnl_sgemm failed with status " + std::to_string(static_cast<int>(st))};
  } else {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<blasint>(M),
                static_cast<blasint>(N), static_cast<blasint>(K), 1.0f, A, static_cast<blasint>(lda), B, static_cast<blasint>(ldb), beta,
                C, static_cast<blasint>(ldc));
  }
}

// ------------------------------------------------------------------------------------------------
// im2col + GEMM convolution (OpenBLAS, or dnnl_sgemm): the fallback engine, and the fast path for
// 1x1 stride-1 unpadded convolutions (a plain GEMM over the NHWC activations).

bool isPointwise(const Conv& c) {
  return c.KH == 1 && c.KW == 1 && c.sh == 1 && c.sw == 1 && c.pt == 0 && c.pl == 0 && c.pb == 0 && c.pr == 0 && c.Ho == c.H && c.Wo == c.W;
}

std::vector<float> g_cols;

// cols[(n,oh,ow), (kh,kw,ci)] from x; rows outside the image are zero
void im2col(const Conv& c, const float* x, float* cols) {
  const int64_t rowLen = c.KH * c.KW * c.Ci;
#pragma omp parallel for collapse(2) num_threads(g_threads)
  for (int64_t n = 0; n < c.N; n++)
    for (int64_t oh = 0; oh < c.Ho; oh++)
      for (int64_t ow = 0; ow < c.Wo; ow++) {
        float* row = cols + ((n * c.Ho + oh) * c.Wo + ow) * rowLen;
        for (int64_t kh = 0; kh < c.KH; kh++) {
          const int64_t ih = oh * c.sh - c.pt + kh * c.dh;
          for (int64_t kw = 0; kw < c.KW; kw++) {
            const int64_t iw = ow * c.sw - c.pl + kw * c.dw;
            float* dst = row + (kh * c.KW + kw) * c.Ci;
            if (ih < 0 || ih >= c.H || iw < 0 || iw >= c.W)
              std::memset(dst, 0, sizeof(float) * c.Ci);
            else
              std::memcpy(dst, x + ((n * c.H + ih) * c.W + iw) * c.Ci, sizeof(float) * c.Ci);
          }
        }
      }
}

// dx += scatter of cols (the adjoint of im2col); dx must be zeroed first. Parallel over the batch:
// images do not overlap.
void col2im(const Conv& c, const float* cols, float* dx) {
  const int64_t rowLen = c.KH * c.KW * c.Ci;
#pragma omp parallel for num_threads(g_threads)
  for (int64_t n = 0; n < c.N; n++)
    for (int64_t oh = 0; oh < c.Ho; oh++)
      for (int64_t ow = 0; ow < c.Wo; ow++) {
        const float* row = cols + ((n * c.Ho + oh) * c.Wo + ow) * rowLen;
        for (int64_t kh = 0; kh < c.KH; kh++) {
          const int64_t ih = oh * c.sh - c.pt + kh * c.dh;
          if (ih < 0 || ih >= c.H) continue;
          for (int64_t kw = 0; kw < c.KW; kw++) {
            const int64_t iw = ow * c.sw - c.pl + kw * c.dw;
            if (iw < 0 || iw >= c.W) continue;
            const float* src = row + (kh * c.KW + kw) * c.Ci;
            float* d = dx + ((n * c.H + ih) * c.W + iw) * c.Ci;
            for (int64_t i = 0; i < c.Ci; i++) d[i] += src[i];
          }
        }
      }
}

void gemmConvRun(const Conv& c, char kind, int eng, float* x, float* w, float* bias, float* y) {
  const int64_t K = c.KH * c.KW * c.Ci;
  const int64_t rowsPerImage = c.Ho * c.Wo;
  if (isPointwise(c)) {
    // a plain GEMM over the NHWC activations
    const int64_t rows = c.N * rowsPerImage;
    if (kind == 'f') {
      float beta = 0.0f;
      if (bias != nullptr) {
        for (int64_t r = 0; r < rows; r++) std::memcpy(y + r * c.Co, bias, sizeof(float) * c.Co);
        beta = 1.0f;
      }
      gemm(eng, false, false, rows, c.Co, K, x, K, w, c.Co, beta, y, c.Co);
    } else if (kind == 'w') {
      gemm(eng, true, false, K, c.Co, rows, x, K, y, c.Co, 0.0f, w, c.Co);
    } else {
      gemm(eng, false, true, rows, K, c.Co, y, c.Co, w, c.Co, 0.0f, x, K);
    }
    return;
  }
  // im2col over chunks of the batch, so the column buffer stays near 16 MB
  const int64_t perImage = rowsPerImage * K;
  const int64_t chunk = std::max<int64_t>(1, std::min<int64_t>(c.N, (int64_t{4} << 20) / std::max<int64_t>(1, perImage)));
  g_cols.resize(static_cast<size_t>(chunk * perImage));
  float* cols = g_cols.data();
  if (kind == 'd') std::memset(x, 0, sizeof(float) * c.xSize());
  for (int64_t n0 = 0; n0 < c.N; n0 += chunk) {
    Conv part = c;
    part.N = std::min(chunk, c.N - n0);
    const int64_t rows = part.N * rowsPerImage;
    float* xp = x + n0 * c.H * c.W * c.Ci;
    float* yp = y + n0 * rowsPerImage * c.Co;
    if (kind == 'f') {
      im2col(part, xp, cols);
      float beta = 0.0f;
      if (bias != nullptr) {
        for (int64_t r = 0; r < rows; r++) std::memcpy(yp + r * c.Co, bias, sizeof(float) * c.Co);
        beta = 1.0f;
      }
      gemm(eng, false, false, rows, c.Co, K, cols, K, w, c.Co, beta, yp, c.Co);
    } else if (kind == 'w') {
      // dw[K, Co] (+)= cols^T [K, rows] · dy [rows, Co]
      im2col(part, xp, cols);
      gemm(eng, true, false, K, c.Co, rows, cols, K, yp, c.Co, n0 == 0 ? 0.0f : 1.0f, w, c.Co);
    } else {
      // dcols[rows, K] = dy [rows, Co] · w^T [Co, K]; dx += col2im(dcols)
      gemm(eng, false, true, rows, K, c.Co, yp, c.Co, w, c.Co, 0.0f, cols, K);
      col2im(part, cols, xp);
    }
  }
}

// ------------------------------------------------------------------------------------------------
// Run-time ISA dispatch for the hand-vectorised loops (GroupNorm, element-wise ops, the
// single-output-channel convolution): each loop body is compiled three times, for AVX-512
// (F/VL/BW/DQ, 512-bit vectors preferred), for AVX2+FMA and for the baseline x86-64 ISA, and the
// ISA read when the addon loads picks one. (GCC's target_clones("avx2,fma", "default"), used
// before, makes one clone per listed ISA: an AVX2 clone without FMA and an FMA clone without AVX2's
// integer ops, never both. With both, the GroupNorm+SiLU backward pass over [256, 16, 16, 64] took
// 7.0 ms instead of 8.9, the forward 5.1-6.7 instead of 6.5-6.7: 1 thread, fastest of 100 calls,
// two alternating runs.)

enum Isa { ISA_BASELINE = 0, ISA_AVX2FMA = 1, ISA_AVX512 = 2 };

// CTLAB_NATIVE_SIMD=baseline|avx2|avx512 caps the ISA (so the tests can run each build of the loops
// on a machine that has the larger ones); an ISA the CPU lacks is never chosen
Isa detectIsa() {
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  const bool avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq");
  Isa best = avx512 ? ISA_AVX512 : avx2 ? ISA_AVX2FMA : ISA_BASELINE;
  const char* force = std::getenv("CTLAB_NATIVE_SIMD");
  if (force == nullptr || *force == 0) return best;
  const Isa cap = std::strcmp(force, "baseline") == 0 ? ISA_BASELINE : std::strcmp(force, "avx2") == 0 ? ISA_AVX2FMA : ISA_AVX512;
  return cap < best ? cap : best;
}
const Isa g_isa = detectIsa();

#define CTLAB_AVX512 "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,prefer-vector-width=512"

// VECTOR_FN(name, (params), (args)) { body }: defines name(params), which runs the body compiled for
// the best of AVX-512, AVX2+FMA and the baseline ISA that the CPU has (g_isa)
#define VECTOR_FN(name, params, args)                                                  \
  inline __attribute__((always_inline)) void name##Body params;                        \
  __attribute__((target(CTLAB_AVX512))) void name##Avx512 params { name##Body args; }  \
  __attribute__((target("avx2,fma"))) void name##Avx2Fma params { name##Body args; }   \
  void name##Baseline params { name##Body args; }                                      \
  void name params {                                                                   \
    if (g_isa == ISA_AVX512)                                                           \
      name##Avx512 args;                                                               \
    else if (g_isa == ISA_AVX2FMA)                                                     \
      name##Avx2Fma args;                                                              \
    else                                                                               \
      name##Baseline args;                                                             \
  }                                                                                    \
  inline __attribute__((always_inline)) void name##Body params

// ------------------------------------------------------------------------------------------------
// Forward convolution with one output channel (a U-Net's output layer): per output pixel, KH·KW dot
// products of length Ci over the NHWC input. oneDNN 2.6.3 runs this shape at ~6 GFLOP/s (its AVX2
// kernels block output channels by 8); these loops stream the input once.

bool isSingleOutputChannel(const Conv& c) { return c.Co == 1; }

// eight floats as one vector (GCC's vector extension: one AVX register in the AVX2 build of a loop,
// two SSE registers in the baseline one)
typedef float Float8 __attribute__((vector_size(32)));
inline __attribute__((always_inline)) Float8 load8(const float* p) {
  Float8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// one output row y[n, oh, :] of the single-channel convolution. Per pixel and filter row, the taps
// inside the image are one contiguous run of input and filter values (without dilation), so each is
// a single dot product; 4 x 8 partial sums in a fixed order (independent chains of vector adds),
// added together once per pixel
VECTOR_FN(convCo1Row, (const Conv& c, const float* x, const float* w, float b0, float* yRow, int64_t n, int64_t oh), (c, x, w, b0, yRow, n, oh)) {
  const int64_t Ci = c.Ci;
  for (int64_t ow = 0; ow < c.Wo; ow++) {
    Float8 acc0 = {0, 0, 0, 0, 0, 0, 0, 0}, acc1 = acc0, acc2 = acc0, acc3 = acc0;
    float tail = 0;
    // the filter columns whose input column lies inside the image
    const int64_t iw0 = ow * c.sw - c.pl;
    int64_t kwLo = 0, kwHi = c.KW;
    while (kwLo < kwHi && iw0 + kwLo * c.dw < 0) kwLo++;
    while (kwHi > kwLo && iw0 + (kwHi - 1) * c.dw >= c.W) kwHi--;
    // runs: one of (kwHi − kwLo)·Ci values without dilation, else one per tap
    const int64_t runs = c.dw == 1 ? 1 : kwHi - kwLo;
    const int64_t len = c.dw == 1 ? (kwHi - kwLo) * Ci : Ci;
    const int64_t len32 = len - len % 32, len8 = len - len % 8;
    for (int64_t kh = 0; kh < c.KH && kwLo < kwHi; kh++) {
      const int64_t ih = oh * c.sh - c.pt + kh * c.dh;
      if (ih < 0 || ih >= c.H) continue;
      for (int64_t r = 0; r < runs; r++) {
        const int64_t kw = kwLo + r;
        const float* a = x + ((n * c.H + ih) * c.W + iw0 + kw * c.dw) * Ci;
        const float* b = w + (kh * c.KW + kw) * Ci;
        int64_t i = 0;
        for (; i < len32; i += 32) {
          acc0 += load8(a + i) * load8(b + i);
          acc1 += load8(a + i + 8) * load8(b + i + 8);
          acc2 += load8(a + i + 16) * load8(b + i + 16);
          acc3 += load8(a + i + 24) * load8(b + i + 24);
        }
        for (; i < len8; i += 8) acc0 += load8(a + i) * load8(b + i);
        for (; i < len; i++) tail += a[i] * b[i];
      }
    }
    const Float8 acc = (acc0 + acc1) + (acc2 + acc3);
    yRow[ow] = b0 + (((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])) + tail);
  }
}

// y[N, Ho, Wo, 1] = conv(x, w [KH, KW, Ci, 1]) (+ bias[0])
void convForwardCo1(const Conv& c, const float* x, const float* w, const float* bias, float* y) {
  const float b0 = bias != nullptr ? bias[0] : 0.0f;
  const int threads = c.N * c.Ho * c.Wo * c.KH * c.KW * c.Ci >= (int64_t{1} << 16) ? g_threads : 1;
#pragma omp parallel for collapse(2) num_threads(threads)
  for (int64_t n = 0; n < c.N; n++)
    for (int64_t oh = 0; oh < c.Ho; oh++) convCo1Row(c, x, w, b0, y + (n * c.Ho + oh) * c.Wo, n, oh);
}

// ------------------------------------------------------------------------------------------------
// GroupNorm (+ SiLU), forward and backward, on NHWC activations [B, HW, C] with G groups of C/G
// channels. Statistics per (image, group) in double precision; the per-element loops are written so
// the compiler vectorizes them (built for AVX2+FMA and for the baseline ISA, picked at run time: VECTOR_FN).
//
//   forward:  z = (x − μ_g)·rstd_g·γ_c + β_c,  y = silu ? z·σ(z) : z,  rstd = 1/√(max(E[x²] − μ², 0) + eps)
//   backward: dz = silu ? dy·σ(z)·(1 + z·(1 − σ(z))) : dy, then the GroupNorm gradient
//             dx = rstd·γ·dz − rstd·mean_g(γ·dz) − rstd·x̂·mean_g(γ·dz·x̂), dγ = Σ dz·x̂, dβ = Σ dz
// (the same formulas as the hand-written gradient of src/models/groupnorm.ts).

// exp(v) for v in [-87, 88] by 2^n·p(r), r = v − n·ln2 (Cephes' expf polynomial, relative error
// ~2e-7); branch-free so loops over it vectorize
inline __attribute__((always_inline)) float expApprox(float v) {
  v = std::min(88.0f, std::max(-87.0f, v));
  // round to nearest by the 1.5·2^23 trick (nearbyint() is a library call that stops vectorization)
  const float n = (v * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  float r = v - n * 0.693359375f;
  r = r + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  int32_t bits;
  std::memcpy(&bits, &p, 4);
  bits += static_cast<int32_t>(n) << 23;
  std::memcpy(&p, &bits, 4);
  return p;
}

inline __attribute__((always_inline)) float sigmoidApprox(float z) { return 1.0f / (1.0f + expApprox(-z)); }

struct GnDims {
  int64_t B, HW, C, G;
  bool silu;
};

VECTOR_FN(gnRowSums, (const float* x, int64_t HW, int64_t C, double* s1, double* s2), (x, HW, C, s1, s2)) {
  for (int64_t c = 0; c < C; c++) s1[c] = s2[c] = 0;
  for (int64_t p = 0; p < HW; p++) {
    const float* row = x + p * C;
    for (int64_t c = 0; c < C; c++) {
      const double v = row[c];
      s1[c] += v;
      s2[c] += v * v;
    }
  }
}

VECTOR_FN(gnForwardRows, (const float* x, float* y, int64_t HW, int64_t C, const float* scale, const float* shift, bool silu),
          (x, y, HW, C, scale, shift, silu)) {
  for (int64_t p = 0; p < HW; p++) {
    const float* xr = x + p * C;
    float* yr = y + p * C;
    if (silu) {
      for (int64_t c = 0; c < C; c++) {
        const float z = xr[c] * scale[c] + shift[c];
        yr[c] = z * sigmoidApprox(z);
      }
    } else {
      for (int64_t c = 0; c < C; c++) yr[c] = xr[c] * scale[c] + shift[c];
    }
  }
}

// dz (into dz, which may be the dx buffer) and per-channel Σ dz, Σ dz·x
VECTOR_FN(gnBackwardPass1,
          (const float* dy, const float* x, float* dz, int64_t HW, int64_t C, const float* scale, const float* shift, bool silu, double* s1,
           double* s2),
          (dy, x, dz, HW, C, scale, shift, silu, s1, s2)) {
  for (int64_t c = 0; c < C; c++) s1[c] = s2[c] = 0;
  for (int64_t p = 0; p < HW; p++) {
    const float* xr = x + p * C;
    const float* dyr = dy + p * C;
    float* dzr = dz + p * C;
    if (silu) {
      for (int64_t c = 0; c < C; c++) {
        const float z = xr[c] * scale[c] + shift[c];
        const float s = sigmoidApprox(z);
        dzr[c] = dyr[c] * s * (1.0f + z * (1.0f - s));
      }
    } else {
      for (int64_t c = 0; c < C; c++) dzr[c] = dyr[c];
    }
    for (int64_t c = 0; c < C; c++) {
      const double d = dzr[c];
      s1[c] += d;
      s2[c] += d * xr[c];
    }
  }
}

VECTOR_FN(gnBackwardPass2, (const float* x, float* dx, int64_t HW, int64_t C, const float* P, const float* Q, const float* R), (x, dx, HW, C, P, Q, R)) {
  for (int64_t p = 0; p < HW; p++) {
    const float* xr = x + p * C;
    float* d = dx + p * C;
    for (int64_t c = 0; c < C; c++) d[c] = d[c] * P[c] + xr[c] * Q[c] + R[c];
  }
}

// y = GN(x)·γ + β (then SiLU); mean, rstd: [B, G]
void groupNormForward(const GnDims& d, const float* x, const float* gamma, const float* beta, float eps, float* y, float* mean, float* rstd) {
  const int64_t Cg = d.C / d.G;
  const double count = static_cast<double>(d.HW * Cg);
#pragma omp parallel for num_threads(static_cast<int>(std::min<int64_t>(g_threads, d.B)))
  for (int64_t b = 0; b < d.B; b++) {
    std::vector<double> s1(d.C), s2(d.C);
    std::vector<float> scale(d.C), shift(d.C);
    const float* xb = x + b * d.HW * d.C;
    gnRowSums(xb, d.HW, d.C, s1.data(), s2.data());
    for (int64_t g = 0; g < d.G; g++) {
      double a = 0, q = 0;
      for (int64_t c = g * Cg; c < (g + 1) * Cg; c++) {
        a += s1[c];
        q += s2[c];
      }
      const double mu = a / count;
      const double var = std::max(0.0, q / count - mu * mu);
      const double rs = 1.0 / std::sqrt(var + eps);
      mean[b * d.G + g] = static_cast<float>(mu);
      rstd[b * d.G + g] = static_cast<float>(rs);
      for (int64_t c = g * Cg; c < (g + 1) * Cg; c++) {
        scale[c] = static_cast<float>(rs * gamma[c]);
        shift[c] = static_cast<float>(beta[c] - mu * rs * gamma[c]);
      }
    }
    gnForwardRows(xb, y + b * d.HW * d.C, d.HW, d.C, scale.data(), shift.data(), d.silu);
  }
}

// dx, dgamma, dbeta from dy (the gradient of the forward's output) and the forward's x, γ, β, mean, rstd
void groupNormBackward(const GnDims& d, const float* dy, const float* x, const float* gamma, const float* beta, const float* mean,
                       const float* rstd, float* dx, float* dgamma, float* dbeta) {
  const int64_t Cg = d.C / d.G;
  const double count = static_cast<double>(d.HW * Cg);
  std::vector<double> perImageDg(d.B * d.C), perImageDb(d.B * d.C);
#pragma omp parallel for num_threads(static_cast<int>(std::min<int64_t>(g_threads, d.B)))
  for (int64_t b = 0; b < d.B; b++) {
    std::vector<double> s1(d.C), s2(d.C);
    std::vector<float> scale(d.C), shift(d.C), P(d.C), Q(d.C), R(d.C);
    for (int64_t c = 0; c < d.C; c++) {
      const int64_t g = c / Cg;
      const double mu = mean[b * d.G + g], rs = rstd[b * d.G + g];
      scale[c] = static_cast<float>(rs * gamma[c]);
      shift[c] = static_cast<float>(beta[c] - mu * rs * gamma[c]);
    }
    const float* xb = x + b * d.HW * d.C;
    float* dxb = dx + b * d.HW * d.C;
    gnBackwardPass1(dy + b * d.HW * d.C, xb, dxb, d.HW, d.C, scale.data(), shift.data(), d.silu, s1.data(), s2.data());
    for (int64_t g = 0; g < d.G; g++) {
      const double mu = mean[b * d.G + g], rs = rstd[b * d.G + g];
      double a = 0, bb = 0;
      for (int64_t c = g * Cg; c < (g + 1) * Cg; c++) {
        const double dyXhat = (s2[c] - mu * s1[c]) * rs;  // Σ dz·x̂
        perImageDg[b * d.C + c] = dyXhat;
        perImageDb[b * d.C + c] = s1[c];
        a += s1[c] * gamma[c];
        bb += dyXhat * gamma[c];
      }
      a /= count;
      bb /= count;
      for (int64_t c = g * Cg; c < (g + 1) * Cg; c++) {
        P[c] = static_cast<float>(rs * gamma[c]);
        Q[c] = static_cast<float>(-rs * rs * bb);
        R[c] = static_cast<float>(rs * rs * mu * bb - rs * a);
      }
    }
    gnBackwardPass2(xb, dxb, d.HW, d.C, P.data(), Q.data(), R.data());
  }
  for (int64_t c = 0; c < d.C; c++) {
    double g = 0, bt = 0;
    for (int64_t b = 0; b < d.B; b++) {
      g += perImageDg[b * d.C + c];
      bt += perImageDb[b * d.C + c];
    }
    dgamma[c] = static_cast<float>(g);
    dbeta[c] = static_cast<float>(bt);
  }
}

GnDims gnDims(napi_env env, napi_value v) {
  auto g = dims(env, v, 5, "groupNorm geometry");
  GnDims d{g[0], g[1], g[2], g[3], g[4] != 0};
  if (d.B < 1 || d.HW < 1 || d.C < 1 || d.G < 1 || d.C % d.G != 0)
    throw JsError{"groupNorm geometry: expected [B, HW, C, G, silu] with positive sizes and G dividing C"};
  return d;
}

// ------------------------------------------------------------------------------------------------
// Exported functions

// conv(kind, engine, heap, xOff, wOff, biasOff (-1: none), yOff, geometry[17])
//   kind 0: forward y = conv(x, w) + bias; 1: backward data (writes x from y = dy); 2: backward weights (writes w)
//   engine 0: oneDNN; 1: im2col + OpenBLAS; 2: im2col + dnnl_sgemm
napi_value Conv2d(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    FlushSubnormals flush;
    auto a = args(env, info, 8);
    const int64_t kindNum = i64(env, a[0], "kind");
    const int64_t engineNum = i64(env, a[1], "engine");
    if (kindNum < 0 || kindNum > 2) throw JsError{"kind: expected 0 (forward), 1 (backward data) or 2 (backward weights)"};
    if (engineNum < 0 || engineNum > 3)
      throw JsError{"engine: expected 0 (oneDNN, NHWC), 1 (OpenBLAS), 2 (dnnl_sgemm) or 3 (oneDNN, blocked activations)"};
    size_t len = 0;
    float* heap = f32(env, a[2], &len);
    Conv c(dims(env, a[7], 17, "geometry"));
    float* x = at(heap, len, i64(env, a[3], "xOffset"), c.xSize(), "x");
    float* w = at(heap, len, i64(env, a[4], "wOffset"), c.wSize(), "filter");
    const int64_t bOff = i64(env, a[5], "biasOffset");
    float* bias = bOff < 0 ? nullptr : at(heap, len, bOff, c.Co, "bias");
    float* y = at(heap, len, i64(env, a[6], "yOffset"), c.ySize(), "y");
    const char kind = kindNum == 0 ? 'f' : kindNum == 1 ? 'd' : 'w';
    if (kind != 'f' && bias != nullptr) throw JsError{"bias is only for the forward convolution"};
    // oneDNN 2.6.3's jit_1x1 convolution with a stride ("reduce to unit stride") corrupts the C heap
    // on NHWC tensors here (found by the parity tests): strided 1x1 convolutions go to im2col + GEMM
    const bool strided1x1 = c.KH == 1 && c.KW == 1 && (c.sh > 1 || c.sw > 1);
    const bool onednn = engineNum == 0 || engineNum == 3;
    if (onednn && kind == 'f' && isSingleOutputChannel(c))
      convForwardCo1(c, x, w, bias, y);
    else if (onednn && !strided1x1)
      dnnlRun(c, kind, engineNum == 3, x, w, bias, y);
    else
      gemmConvRun(c, kind, engineNum == 2 ? DNNL : OPENBLAS, x, w, bias, y);
    return undefinedValue(env);
  });
}

// matmul(engine, heap, aOff, bOff, cOff, [batch, M, N, K, transA, transB, strideA, strideB])
//   engine 0: OpenBLAS cblas_sgemm; 1: dnnl_sgemm. strideA/strideB 0 broadcast one matrix.
napi_value Matmul(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    FlushSubnormals flush;
    auto a = args(env, info, 6);
    const int64_t eng = i64(env, a[0], "engine");
    if (eng != 0 && eng != 1) throw JsError{"engine: expected 0 (OpenBLAS) or 1 (dnnl_sgemm)"};
    size_t len = 0;
    float* heap = f32(env, a[1], &len);
    auto d = dims(env, a[5], 8, "matmul geometry");
    const int64_t batch = d[0], M = d[1], N = d[2], K = d[3], sA = d[6], sB = d[7];
    const bool ta = d[4] != 0, tb = d[5] != 0;
    if (batch < 1 || M < 1 || N < 1 || K < 1 || sA < 0 || sB < 0) throw JsError{"matmul geometry: sizes must be positive"};
    float* A = at(heap, len, i64(env, a[2], "aOffset"), sA * (batch - 1) + M * K, "a");
    float* B = at(heap, len, i64(env, a[3], "bOffset"), sB * (batch - 1) + K * N, "b");
    float* C = at(heap, len, i64(env, a[4], "cOffset"), batch * M * N, "c");
    for (int64_t i = 0; i < batch; i++)
      gemm(static_cast<int>(eng), ta, tb, M, N, K, A + i * sA, ta ? M : K, B + i * sB, tb ? K : N, 0.0f, C + i * M * N, N);
    return undefinedValue(env);
  });
}

// ------------------------------------------------------------------------------------------------
// Element-wise binary ops with the broadcasts of a U-Net (same shape; a per-(image, channel) or
// per-channel operand; a per-image scalar): out[o, m, i] = a[o·aO + m·aM + i·aI] op b[o·bO + m·bM + i·bI]
// over out [O, M, I], with aI, bI in {0, 1}. Rows (o, m) are split over the threads.

enum BinaryOp { ADD = 0, SUB = 1, MUL = 2 };

template <int OP>
inline __attribute__((always_inline)) float binaryApply(float x, float y) {
  return OP == ADD ? x + y : OP == SUB ? x - y : x * y;
}

template <int OP>
inline __attribute__((always_inline)) void binaryRowBody(const float* a, int64_t aI, const float* b, int64_t bI, float* out, int64_t I) {
  if (aI == 1 && bI == 1) {
    for (int64_t i = 0; i < I; i++) out[i] = binaryApply<OP>(a[i], b[i]);
  } else if (aI == 1) {
    const float y = b[0];
    for (int64_t i = 0; i < I; i++) out[i] = binaryApply<OP>(a[i], y);
  } else if (bI == 1) {
    const float x = a[0];
    for (int64_t i = 0; i < I; i++) out[i] = binaryApply<OP>(x, b[i]);
  } else {
    const float v = binaryApply<OP>(a[0], b[0]);
    for (int64_t i = 0; i < I; i++) out[i] = v;
  }
}

// binaryRow as VECTOR_FN does it, for the template
template <int OP>
__attribute__((target("avx2,fma"))) void binaryRowAvx2Fma(const float* a, int64_t aI, const float* b, int64_t bI, float* out, int64_t I) {
  binaryRowBody<OP>(a, aI, b, bI, out, I);
}
template <int OP>
void binaryRowBaseline(const float* a, int64_t aI, const float* b, int64_t bI, float* out, int64_t I) {
  binaryRowBody<OP>(a, aI, b, bI, out, I);
}
template <int OP>
__attribute__((target(CTLAB_AVX512))) void binaryRowAvx512(const float* a, int64_t aI, const float* b, int64_t bI, float* out, int64_t I) {
  binaryRowBody<OP>(a, aI, b, bI, out, I);
}
template <int OP>
void binaryRow(const float* a, int64_t aI, const float* b, int64_t bI, float* out, int64_t I) {
  if (g_isa == ISA_AVX512)
    binaryRowAvx512<OP>(a, aI, b, bI, out, I);
  else if (g_isa == ISA_AVX2FMA)
    binaryRowAvx2Fma<OP>(a, aI, b, bI, out, I);
  else
    binaryRowBaseline<OP>(a, aI, b, bI, out, I);
}

template <int OP>
void binaryRun(const int64_t* g, const float* a, const float* b, float* out) {
  const int64_t O = g[0], M = g[1], I = g[2], aO = g[3], aM = g[4], aI = g[5], bO = g[6], bM = g[7], bI = g[8];
  const int threads = O * M * I >= (int64_t{1} << 15) ? g_threads : 1;
#pragma omp parallel for collapse(2) num_threads(threads)
  for (int64_t o = 0; o < O; o++)
    for (int64_t m = 0; m < M; m++) binaryRow<OP>(a + o * aO + m * aM, aI, b + o * bO + m * bM, bI, out + (o * M + m) * I, I);
}

// binary(op, heap, aOff, bOff, outOff, [O, M, I, aO, aM, aI, bO, bM, bI]): op 0 add, 1 sub, 2 mul
napi_value Binary(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    FlushSubnormals flush;
    auto a = args(env, info, 6);
    const int64_t op = i64(env, a[0], "op");
    if (op < ADD || op > MUL) throw JsError{"op: expected 0 (add), 1 (sub) or 2 (mul)"};
    size_t len = 0;
    float* heap = f32(env, a[1], &len);
    auto g = dims(env, a[5], 9, "binary geometry");
    const int64_t O = g[0], M = g[1], I = g[2];
    if (O < 1 || M < 1 || I < 1) throw JsError{"binary geometry: O, M, I must be positive"};
    for (int k = 3; k < 9; k++)
      if (g[k] < 0) throw JsError{"binary geometry: strides must be >= 0"};
    if ((g[5] != 0 && g[5] != 1) || (g[8] != 0 && g[8] != 1)) throw JsError{"binary geometry: inner strides must be 0 or 1"};
    const int64_t aSpan = (O - 1) * g[3] + (M - 1) * g[4] + (I - 1) * g[5] + 1;
    const int64_t bSpan = (O - 1) * g[6] + (M - 1) * g[7] + (I - 1) * g[8] + 1;
    const float* x = at(heap, len, i64(env, a[2], "aOffset"), aSpan, "a");
    const float* y = at(heap, len, i64(env, a[3], "bOffset"), bSpan, "b");
    float* out = at(heap, len, i64(env, a[4], "outOffset"), O * M * I, "out");
    if (op == ADD) binaryRun<ADD>(g.data(), x, y, out);
    else if (op == SUB) binaryRun<SUB>(g.data(), x, y, out);
    else binaryRun<MUL>(g.data(), x, y, out);
    return undefinedValue(env);
  });
}

// groupNorm(heap, xOff, gammaOff, betaOff, yOff, meanOff, rstdOff, [B, HW, C, G, silu], eps)
napi_value GroupNorm(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    FlushSubnormals flush;
    auto a = args(env, info, 9);
    size_t len = 0;
    float* heap = f32(env, a[0], &len);
    GnDims d = gnDims(env, a[7]);
    double eps = 0;
    NAPI_OK(napi_get_value_double(env, a[8], &eps));
    if (!(eps > 0)) throw JsError{"groupNorm: eps must be positive"};
    const int64_t n = d.B * d.HW * d.C;
    const float* x = at(heap, len, i64(env, a[1], "xOffset"), n, "x");
    const float* gamma = at(heap, len, i64(env, a[2], "gammaOffset"), d.C, "gamma");
    const float* beta = at(heap, len, i64(env, a[3], "betaOffset"), d.C, "beta");
    float* y = at(heap, len, i64(env, a[4], "yOffset"), n, "y");
    float* mean = at(heap, len, i64(env, a[5], "meanOffset"), d.B * d.G, "mean");
    float* rstd = at(heap, len, i64(env, a[6], "rstdOffset"), d.B * d.G, "rstd");
    groupNormForward(d, x, gamma, beta, static_cast<float>(eps), y, mean, rstd);
    return undefinedValue(env);
  });
}

// groupNormGrad(heap, dyOff, xOff, gammaOff, betaOff, meanOff, rstdOff, dxOff, dgammaOff, dbetaOff, [B, HW, C, G, silu])
napi_value GroupNormGrad(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    FlushSubnormals flush;
    auto a = args(env, info, 11);
    size_t len = 0;
    float* heap = f32(env, a[0], &len);
    GnDims d = gnDims(env, a[10]);
    const int64_t n = d.B * d.HW * d.C;
    const float* dy = at(heap, len, i64(env, a[1], "dyOffset"), n, "dy");
    const float* x = at(heap, len, i64(env, a[2], "xOffset"), n, "x");
    const float* gamma = at(heap, len, i64(env, a[3], "gammaOffset"), d.C, "gamma");
    const float* beta = at(heap, len, i64(env, a[4], "betaOffset"), d.C, "beta");
    const float* mean = at(heap, len, i64(env, a[5], "meanOffset"), d.B * d.G, "mean");
    const float* rstd = at(heap, len, i64(env, a[6], "rstdOffset"), d.B * d.G, "rstd");
    float* dx = at(heap, len, i64(env, a[7], "dxOffset"), n, "dx");
    float* dgamma = at(heap, len, i64(env, a[8], "dgammaOffset"), d.C, "dgamma");
    float* dbeta = at(heap, len, i64(env, a[9], "dbetaOffset"), d.C, "dbeta");
    groupNormBackward(d, dy, x, gamma, beta, mean, rstd, dx, dgamma, dbeta);
    return undefinedValue(env);
  });
}

// ------------------------------------------------------------------------------------------------
// SiLU with an optional dropout mask (the MLP's hidden layers): y = x·σ(x)·m, and its gradient
// dx = dy·m·σ(x)·(1 + x·(1 − σ(x))). One pass each, where TF.js runs sigmoid, two multiplies and
// their gradients (five more passes) over the [B, H] activations.

VECTOR_FN(siluRows, (const float* x, const float* m, float* y, int64_t n), (x, m, y, n)) {
  if (m != nullptr) {
    for (int64_t i = 0; i < n; i++) y[i] = x[i] * sigmoidApprox(x[i]) * m[i];
  } else {
    for (int64_t i = 0; i < n; i++) y[i] = x[i] * sigmoidApprox(x[i]);
  }
}

VECTOR_FN(siluGradRows, (const float* dy, const float* x, const float* m, float* dx, int64_t n), (dy, x, m, dx, n)) {
  if (m != nullptr) {
    for (int64_t i = 0; i < n; i++) {
      const float s = sigmoidApprox(x[i]);
      dx[i] = dy[i] * m[i] * s * (1.0f + x[i] * (1.0f - s));
    }
  } else {
    for (int64_t i = 0; i < n; i++) {
      const float s = sigmoidApprox(x[i]);
      dx[i] = dy[i] * s * (1.0f + x[i] * (1.0f - s));
    }
  }
}

// Runs f(begin, count) over [0, n) in chunks, on the native threads when n is large enough to pay
template <typename F>
void chunked(int64_t n, F&& f) {
  const int64_t chunk = 1 << 14;
  const int64_t chunks = (n + chunk - 1) / chunk;
  const int threads = n >= (int64_t{1} << 16) ? g_threads : 1;
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
  for (int64_t c = 0; c < chunks; c++) f(c * chunk, std::min(chunk, n - c * chunk));
}

// silu(heap, xOff, maskOff (-1: none), yOff, n)
napi_value Silu(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    FlushSubnormals flush;
    auto a = args(env, info, 5);
    size_t len = 0;
    float* heap = f32(env, a[0], &len);
    const int64_t n = i64(env, a[4], "n");
    if (n < 1) throw JsError{"silu: n must be positive"};
    const float* x = at(heap, len, i64(env, a[1], "xOffset"), n, "x");
    const int64_t mOff = i64(env, a[2], "maskOffset");
    const float* m = mOff < 0 ? nullptr : at(heap, len, mOff, n, "mask");
    float* y = at(heap, len, i64(env, a[3], "yOffset"), n, "y");
    chunked(n, [&](int64_t b, int64_t c) { siluRows(x + b, m ? m + b : nullptr, y + b, c); });
    return undefinedValue(env);
  });
}

// siluGrad(heap, dyOff, xOff, maskOff (-1: none), dxOff, n)
napi_value SiluGrad(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    FlushSubnormals flush;
    auto a = args(env, info, 6);
    size_t len = 0;
    float* heap = f32(env, a[0], &len);
    const int64_t n = i64(env, a[5], "n");
    if (n < 1) throw JsError{"siluGrad: n must be positive"};
    const float* dy = at(heap, len, i64(env, a[1], "dyOffset"), n, "dy");
    const float* x = at(heap, len, i64(env, a[2], "xOffset"), n, "x");
    const int64_t mOff = i64(env, a[3], "maskOffset");
    const float* m = mOff < 0 ? nullptr : at(heap, len, mOff, n, "mask");
    float* dx = at(heap, len, i64(env, a[4], "dxOffset"), n, "dx");
    chunked(n, [&](int64_t b, int64_t c) { siluGradRows(dy + b, x + b, m ? m + b : nullptr, dx + b, c); });
    return undefinedValue(env);
  });
}

// copyRows(heap, srcOff, srcStride, dstOff, dstStride, rows, width): dst[r*dstStride + j] = src[r*srcStride + j]
// (the block copies of Concat and SplitV)
napi_value CopyRows(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    auto a = args(env, info, 7);
    size_t len = 0;
    float* heap = f32(env, a[0], &len);
    const int64_t srcStride = i64(env, a[2], "srcStride"), dstStride = i64(env, a[4], "dstStride");
    const int64_t rows = i64(env, a[5], "rows"), width = i64(env, a[6], "width");
    if (rows < 0 || width < 0 || srcStride < width || dstStride < width) throw JsError{"copyRows: expected rows, width >= 0 and strides >= width"};
    if (rows == 0 || width == 0) return undefinedValue(env);
    const float* src = at(heap, len, i64(env, a[1], "srcOffset"), (rows - 1) * srcStride + width, "copyRows source");
    float* dst = at(heap, len, i64(env, a[3], "dstOffset"), (rows - 1) * dstStride + width, "copyRows destination");
    // copies of a few MB (a U-Net skip at a large batch) are split over the threads
    const int threads = rows * width >= (int64_t{1} << 18) ? g_threads : 1;
    if (rows == 1 || (srcStride == width && dstStride == width)) {
      const int64_t n = rows * width, per = (n + threads - 1) / threads;
#pragma omp parallel for num_threads(threads)
      for (int t = 0; t < threads; t++) {
        const int64_t lo = t * per, hi = std::min(n, lo + per);
        if (lo < hi) std::memcpy(dst + lo, src + lo, sizeof(float) * (hi - lo));
      }
    } else {
#pragma omp parallel for num_threads(threads)
      for (int64_t r = 0; r < rows; r++) std::memcpy(dst + r * dstStride, src + r * srcStride, sizeof(float) * width);
    }
    return undefinedValue(env);
  });
}

// resizeNearest(heap, xOff, yOff, [B, H, W, C, OH, OW], rows[OH], cols[OW]): NHWC nearest-neighbour
// resizing as pixel copies, y[b, i, j, :] = x[b, rows[i], cols[j], :]; the source indices come from
// the caller (TF.js's own formula for its alignCorners / halfPixelCenters attributes)
napi_value ResizeNearest(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    auto a = args(env, info, 6);
    size_t len = 0;
    float* heap = f32(env, a[0], &len);
    auto g = dims(env, a[3], 6, "resizeNearest geometry");
    const int64_t B = g[0], H = g[1], W = g[2], C = g[3], OH = g[4], OW = g[5];
    for (int64_t v : g)
      if (v < 1) throw JsError{"resizeNearest geometry: expected [B, H, W, C, OH, OW], all positive"};
    const auto rows = dims(env, a[4], static_cast<size_t>(OH), "resizeNearest rows");
    const auto cols = dims(env, a[5], static_cast<size_t>(OW), "resizeNearest cols");
    for (int64_t r : rows)
      if (r < 0 || r >= H) throw JsError{"resizeNearest rows: expected source rows in [0, H)"};
    for (int64_t c : cols)
      if (c < 0 || c >= W) throw JsError{"resizeNearest cols: expected source columns in [0, W)"};
    const float* x = at(heap, len, i64(env, a[1], "xOffset"), B * H * W * C, "x");
    float* y = at(heap, len, i64(env, a[2], "yOffset"), B * OH * OW * C, "y");
    const int threads = B * OH * OW * C >= (int64_t{1} << 18) ? g_threads : 1;
#pragma omp parallel for collapse(2) num_threads(threads)
    for (int64_t b = 0; b < B; b++)
      for (int64_t i = 0; i < OH; i++) {
        const float* src = x + (b * H + rows[i]) * W * C;
        float* dst = y + (b * OH + i) * OW * C;
        for (int64_t j = 0; j < OW; j++) std::memcpy(dst + j * C, src + cols[j] * C, sizeof(float) * C);
      }
    return undefinedValue(env);
  });
}

/** A Float64Array's data and length (tables of offsets and scalars). */
const double* f64(napi_env env, napi_value v, size_t* length, const char* what) {
  bool is = false;
  NAPI_OK(napi_is_typedarray(env, v, &is));
  if (!is) throw JsError{std::string(what) + ": expected a Float64Array"};
  napi_typedarray_type type;
  void* data = nullptr;
  NAPI_OK(napi_get_typedarray_info(env, v, &type, length, &data, nullptr, nullptr));
  if (type != napi_float64_array) throw JsError{std::string(what) + ": expected a Float64Array"};
  return static_cast<const double*>(data);
}

// adamStep(heap, table, scalars): for each row [p, g, m, v, pOut, mOut, vOut, len] of table (element
// offsets), the (Ra)Adam update of src/optim's fused kernel, in double precision like the JS one:
//   g' = g + wd·p; m' = b1·m + (1-b1)·g'; v' = b2·v + (1-b2)·g'^2;
//   p' = adaptive ? p - lr·m' / (sqrt(v')·vScale + eps) : p - lr·m'
// scalars = [beta1, beta2, stepSize, vScale, eps, weightDecay, adaptive]
// One variable's Adam/RAdam update in double precision (the wasm kernel's arithmetic), vectorized:
// IEEE division and square root round the same in vector lanes, so the results are bit-for-bit those
// of the scalar loop (with contraction into FMAs off: a fused multiply-add rounds once, the wasm kernel twice)
#pragma GCC push_options
#pragma GCC optimize("fp-contract=off")
VECTOR_FN(adamRow,
          (const float* __restrict p, const float* __restrict g, const float* __restrict m, const float* __restrict v, float* __restrict po,
           float* __restrict mo, float* __restrict vo, int64_t n, double b1, double b2,
           double lr, double vScale, double eps, double wd, bool adaptive),
          (p, g, m, v, po, mo, vo, n, b1, b2, lr, vScale, eps, wd, adaptive)) {
  const double c1 = 1 - b1, c2 = 1 - b2;
  if (adaptive) {
    for (int64_t j = 0; j < n; j++) {
      const double pj = p[j];
      const double gj = wd != 0 ? static_cast<double>(g[j]) + wd * pj : static_cast<double>(g[j]);
      const double mj = b1 * m[j] + c1 * gj;
      const double vj = b2 * v[j] + c2 * gj * gj;
      mo[j] = static_cast<float>(mj);
      vo[j] = static_cast<float>(vj);
      po[j] = static_cast<float>(pj - (lr * mj) / (std::sqrt(vj) * vScale + eps));
    }
  } else {
    for (int64_t j = 0; j < n; j++) {
      const double pj = p[j];
      const double gj = wd != 0 ? static_cast<double>(g[j]) + wd * pj : static_cast<double>(g[j]);
      const double mj = b1 * m[j] + c1 * gj;
      const double vj = b2 * v[j] + c2 * gj * gj;
      mo[j] = static_cast<float>(mj);
      vo[j] = static_cast<float>(vj);
      po[j] = static_cast<float>(pj - lr * mj);
    }
  }
}

VECTOR_FN(emaRow, (const float* __restrict tt, const float* __restrict ss, float* __restrict o, int64_t n, double rate), (tt, ss, o, n, rate)) {
  const double c = 1 - rate;
  for (int64_t j = 0; j < n; j++) o[j] = static_cast<float>(rate * tt[j] + c * ss[j]);
}
#pragma GCC pop_options
#pragma GCC pop_options

napi_value AdamStep(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    auto a = args(env, info, 3);
    size_t len = 0, tl = 0, sl = 0;
    float* heap = f32(env, a[0], &len);
    const double* t = f64(env, a[1], &tl, "table");
    const double* sc = f64(env, a[2], &sl, "scalars");
    if (tl % 8 != 0 || sl != 7) throw JsError{"adamStep: expected a table of rows of 8 and 7 scalars"};
    const double b1 = sc[0], b2 = sc[1], lr = sc[2], vScale = sc[3], eps = sc[4], wd = sc[5];
    const bool adaptive = sc[6] != 0;
    for (size_t r = 0; r < tl / 8; r++) {
      const double* row = t + r * 8;
      const int64_t n = static_cast<int64_t>(row[7]);
      const float* p = at(heap, len, static_cast<int64_t>(row[0]), n, "p");
      const float* g = at(heap, len, static_cast<int64_t>(row[1]), n, "g");
      const float* m = at(heap, len, static_cast<int64_t>(row[2]), n, "m");
      const float* v = at(heap, len, static_cast<int64_t>(row[3]), n, "v");
      float* po = at(heap, len, static_cast<int64_t>(row[4]), n, "pOut");
      float* mo = at(heap, len, static_cast<int64_t>(row[5]), n, "mOut");
      float* vo = at(heap, len, static_cast<int64_t>(row[6]), n, "vOut");
      adamRow(p, g, m, v, po, mo, vo, n, b1, b2, lr, vScale, eps, wd, adaptive);
    }
    return undefinedValue(env);
  });
}

// ------------------------------------------------------------------------------------------------
// The MLP consistency network of src/models/mlp.ts in one call each way. Forward: the noise
// embedding of σ and the concatenation [x, emb(σ)], then per hidden layer z = h·W + b (GEMM, then
// the bias in the same pass as the SiLU), h = silu(z)·mask, then the output layer y = h·W + b.
// With `save` (a pass a gradient will go through) the same pass also keeps each hidden layer's h and
// its SiLU factor f = mask·σ(z)·(1 + z·(1 − σ(z))), which takes dh to dz; z itself is not kept.
// Backward, from dy and the saved h and f (no exp, no element-wise pass but one multiply): per layer
// dW = hᵀ·g, db = Σ_rows g, g ← (g·Wᵀ)·f, and at the input dx and dσ (the chain rule through the
// embedding). Where TF.js runs ~15 kernels per pass and ~25 for the gradient (MatMul, bias Add,
// SiLU, their gradients, the embedding's Log/Multiply/Sin/Cos/Concat), this is one call each.
//
// Embedding (src/models/embedding.ts): kind 0 Fourier, c = ¼·ln σ, emb = [sin(ω c), cos(ω c)];
// kind 1 positional, c = 250·ln(σ + 1e-44), emb = [cos(ω c), sin(ω c)]; float32 as TF.js computes it.

struct MlpDims {
  int64_t B, Dx, E, kind, layers;
  bool masks;
  std::vector<int64_t> widths;  // H_0 .. H_{layers-1}
  int64_t in(int64_t l) const { return l == 0 ? Dx + E : widths[l - 1]; }
  int64_t maxWidth() const {
    int64_t w = Dx + E;
    for (int64_t h : widths) w = std::max(w, h);
    return w;
  }
};

std::vector<float> g_mlpCat, g_mlpA, g_mlpB, g_mlpH;

float* scratch(std::vector<float>& v, int64_t n) {
  if (static_cast<int64_t>(v.size()) < n) v.resize(n);
  return v.data();
}

// rows [0, B) split over the native threads when the work is large enough to pay (the row-wise
// passes with a per-column bias; element-wise ones use chunked())
template <typename F>
void rowsParallel(int64_t B, int64_t cols, F&& f) {
  const int threads = B * cols >= (int64_t{1} << 16) ? g_threads : 1;
  const int64_t parts = threads > 1 ? threads : 1;
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
  for (int64_t p = 0; p < parts; p++) {
    const int64_t r0 = B * p / parts, r1 = B * (p + 1) / parts;
    if (r1 > r0) f(r0, r1 - r0);
  }
}

// sin(a) and cos(a) for |a| < 8192 (Cephes' sinf/cosf: reduction by π/4 in three parts, then their
// minimax polynomials on [−π/4, π/4]; error ~1e-7 absolute); branch-free so loops over it vectorize
inline __attribute__((always_inline)) void sinCosApprox(float a, float* sOut, float* cOut) {
  const float ax = std::fabs(a);
  int32_t j = static_cast<int32_t>(ax * 1.27323954473516f);  // 4/π
  j = (j + 1) & ~1;
  const float y = static_cast<float>(j);
  const float x = ((ax - y * 0.78515625f) - y * 2.4187564849853515625e-4f) - y * 3.77489497744594108e-8f;
  const float z = x * x;
  const float sp = ((-1.9515295891e-4f * z + 8.3321608736e-3f) * z - 1.6666654611e-1f) * z * x + x;
  const float cp = ((2.443315711809948e-5f * z - 1.388731625493765e-3f) * z + 4.166664568298827e-2f) * z * z - 0.5f * z + 1.0f;
  const int32_t q = (j >> 1) & 3;  // quadrant of |a|
  const bool swap = (q & 1) != 0;
  float sv = swap ? cp : sp;
  float cv = swap ? sp : cp;
  sv = (q & 2) != 0 ? -sv : sv;
  cv = ((q + 1) & 2) != 0 ? -cv : cv;
  *sOut = a < 0 ? -sv : sv;
  *cOut = cv;
}

// the embedding's c_noise(σ) (float32, as TF.js computes it)
inline float mlpCNoise(int64_t kind, float sigma) { return kind == 0 ? 0.25f * std::log(sigma) : 250.0f * std::log(sigma + 1e-44f); }

VECTOR_FN(embedRow, (float c, const float* freqs, float* first, float* second, int64_t half, int64_t kind), (c, freqs, first, second, half, kind)) {
  for (int64_t j = 0; j < half; j++) {
    float s, co;
    sinCosApprox(c * freqs[j], &s, &co);
    first[j] = kind == 0 ? s : co;
    second[j] = kind == 0 ? co : s;
  }
}

// cat[r] = [x[r], emb(σ_r)]
void mlpInput(const MlpDims& d, const float* x, const float* sigma, const float* freqs, float* cat) {
  const int64_t D0 = d.Dx + d.E, half = d.E / 2;
  for (int64_t r = 0; r < d.B; r++) {
    float* row = cat + r * D0;
    for (int64_t i = 0; i < d.Dx; i++) row[i] = x[r * d.Dx + i];
    embedRow(mlpCNoise(d.kind, sigma[r]), freqs, row + d.Dx, row + d.Dx + half, half, d.kind);
  }
}

// h = silu(z + b)·m (m null: no mask), over n rows
VECTOR_FN(biasSiluRows, (const float* __restrict z, const float* __restrict b, const float* __restrict m, float* __restrict h, int64_t n, int64_t cols), (z, b, m, h, n, cols)) {
  for (int64_t r = 0; r < n; r++) {
    const float* zr = z + r * cols;
    float* hr = h + r * cols;
    const float* mr = m != nullptr ? m + r * cols : nullptr;
    for (int64_t j = 0; j < cols; j++) {
      const float v = zr[j] + b[j];
      hr[j] = v * sigmoidApprox(v);
    }
    if (mr != nullptr)
      for (int64_t j = 0; j < cols; j++) hr[j] *= mr[j];
  }
}

// the same pass keeping what the gradient needs: h = silu(z + b)·m and f = m·σ(z + b)·(1 + (z + b)·(1 − σ(z + b)))
VECTOR_FN(biasSiluSaveRows, (const float* __restrict z, const float* __restrict b, const float* __restrict m, float* __restrict h, float* __restrict f, int64_t n, int64_t cols),
          (z, b, m, h, f, n, cols)) {
  for (int64_t r = 0; r < n; r++) {
    const float* zr = z + r * cols;
    float* hr = h + r * cols;
    float* fr = f + r * cols;
    for (int64_t j = 0; j < cols; j++) {
      const float v = zr[j] + b[j];
      const float sg = sigmoidApprox(v);
      hr[j] = v * sg;
      fr[j] = sg * (1.0f + v * (1.0f - sg));
    }
    if (m != nullptr) {
      const float* mr = m + r * cols;
      for (int64_t j = 0; j < cols; j++) {
        hr[j] *= mr[j];
        fr[j] *= mr[j];
      }
    }
  }
}

VECTOR_FN(mulRows, (float* __restrict a, const float* __restrict s, int64_t n), (a, s, n)) {
  for (int64_t i = 0; i < n; i++) a[i] *= s[i];
}

VECTOR_FN(addBiasRows, (float* __restrict y, const float* __restrict b, int64_t n, int64_t cols), (y, b, n, cols)) {
  for (int64_t r = 0; r < n; r++)
    for (int64_t j = 0; j < cols; j++) y[r * cols + j] += b[j];
}

// The consistency function's last step folded into the MLP call (f_θ = c_skip·x + c_out·F_θ):
// y = skip + c·F per row with c = c_out of the row, rounded as TF.js rounds tf.add(skip, tf.mul(F, c))
// (no contraction into an FMA); backward dF = dy·c and dc = Σ_j dy·F (sums in double).
#pragma GCC push_options
#pragma GCC optimize("fp-contract=off")
VECTOR_FN(affineRows, (const float* __restrict F, const float* __restrict skip, const float* __restrict c, float* __restrict y, int64_t rows, int64_t cols),
          (F, skip, c, y, rows, cols)) {
  for (int64_t r = 0; r < rows; r++)
    for (int64_t j = 0; j < cols; j++) y[r * cols + j] = skip[r * cols + j] + F[r * cols + j] * c[r];
}
VECTOR_FN(affineGradRows, (const float* __restrict dy, const float* __restrict F, const float* __restrict c, float* __restrict dF, float* __restrict dc, int64_t rows, int64_t cols),
          (dy, F, c, dF, dc, rows, cols)) {
  for (int64_t r = 0; r < rows; r++) {
    double acc = 0;
    for (int64_t j = 0; j < cols; j++) {
      dF[r * cols + j] = dy[r * cols + j] * c[r];
      acc += static_cast<double>(dy[r * cols + j]) * F[r * cols + j];
    }
    dc[r] = static_cast<float>(acc);
  }
}
#pragma GCC pop_options

// db[j] = Σ_r g[r, j], rows in order
VECTOR_FN(columnSums, (const float* __restrict g, float* __restrict db, int64_t rows, int64_t cols), (g, db, rows, cols)) {
  for (int64_t j = 0; j < cols; j++) db[j] = 0;
  for (int64_t r = 0; r < rows; r++)
    for (int64_t j = 0; j < cols; j++) db[j] += g[r * cols + j];
}

MlpDims mlpDims(const double* g, size_t gl, size_t fixed) {
  if (gl < fixed) throw JsError{"mlp geometry: too short"};
  MlpDims d{static_cast<int64_t>(g[0]), static_cast<int64_t>(g[1]), static_cast<int64_t>(g[2]), static_cast<int64_t>(g[3]),
            static_cast<int64_t>(g[4]), g[5] != 0, {}};
  if (d.B < 1 || d.Dx < 1 || d.E < 2 || d.E % 2 != 0 || (d.kind != 0 && d.kind != 1) || d.layers < 1)
    throw JsError{"mlp geometry: expected B, Dx >= 1, an even E >= 2, kind 0|1 and at least one layer"};
  return d;
}

// mlpForward(heap, table, geometry)
//   geometry [B, Dx, E, kind, layers, masks, save, affine, H_0..H_{layers-1}, engine_0..engine_{layers-1}]
//   table    [x, σ, ω, y, W_0, b_0, ..., masks m_0..m_{layers-2} (if masks), skip, c (if affine),
//             h_0..h_{layers-2}, f_0..f_{layers-2} (if save), F (if save and affine)]
//   (affine: y = skip + c·F with F the network's output, c one number per row)
napi_value MlpForward(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    FlushSubnormals flush;
    auto a = args(env, info, 3);
    size_t len = 0, tl = 0, gl = 0;
    float* heap = f32(env, a[0], &len);
    const double* t = f64(env, a[1], &tl, "table");
    const double* g = f64(env, a[2], &gl, "geometry");
    MlpDims d = mlpDims(g, gl, 8);
    const bool save = g[6] != 0, affine = g[7] != 0;
    const int64_t L = d.layers;
    if (gl != static_cast<size_t>(8 + 2 * L)) throw JsError{"mlp geometry: expected 8 + 2·layers numbers"};
    for (int64_t l = 0; l < L; l++) d.widths.push_back(static_cast<int64_t>(g[8 + l]));
    const size_t want = 4 + 2 * L + (d.masks ? L - 1 : 0) + (affine ? 2 : 0) + (save ? 2 * (L - 1) + (affine ? 1 : 0) : 0);
    if (tl != want) throw JsError{"mlp table: expected " + std::to_string(want) + " offsets, got " + std::to_string(tl)};
    auto ptr = [&](size_t i, int64_t count, const char* what) { return at(heap, len, static_cast<int64_t>(t[i]), count, what); };
    const float* x = ptr(0, d.B * d.Dx, "x");
    const float* sigma = ptr(1, d.B, "sigma");
    const float* freqs = ptr(2, d.E / 2, "freqs");
    float* y = ptr(3, d.B * d.widths[L - 1], "y");
    float* cat = scratch(g_mlpCat, d.B * (d.Dx + d.E));
    mlpInput(d, x, sigma, freqs, cat);
    const int64_t maxW = d.maxWidth();
    float* hb[2] = {scratch(g_mlpA, d.B * maxW), scratch(g_mlpB, d.B * maxW)};
    float* zTmp = scratch(g_mlpH, d.B * maxW);
    const float* in = cat;
    const size_t next = 4 + 2 * L;
    const size_t affineAt = next + (d.masks ? L - 1 : 0), savedAt = affineAt + (affine ? 2 : 0);
    const int64_t Dout = d.widths[L - 1];
    for (int64_t l = 0; l < L; l++) {
      const int64_t K = d.in(l), N = d.widths[l];
      const float* W = ptr(4 + 2 * l, K * N, "weight");
      const float* b = ptr(5 + 2 * l, N, "bias");
      const int eng = static_cast<int>(g[8 + L + l]);
      if (l == L - 1) {
        // F: the network's output (kept when a gradient needs it; else scratch)
        float* F = !affine ? y : save ? ptr(savedAt + 2 * (L - 1), d.B * N, "F") : zTmp;
        gemm(eng, false, false, d.B, N, K, in, K, W, N, 0.0f, F, N);
        rowsParallel(d.B, N, [&](int64_t r0, int64_t n) { addBiasRows(F + r0 * N, b, n, N); });
        if (affine) affineRows(F, ptr(affineAt, d.B * Dout, "skip"), ptr(affineAt + 1, d.B, "c"), y, d.B, N);
        break;
      }
      const float* m = d.masks ? ptr(next + l, d.B * N, "mask") : nullptr;
      gemm(eng, false, false, d.B, N, K, in, K, W, N, 0.0f, zTmp, N);
      if (save) {
        float* h = ptr(savedAt + l, d.B * N, "h");
        float* f = ptr(savedAt + (L - 1) + l, d.B * N, "f");
        rowsParallel(d.B, N, [&](int64_t r0, int64_t n) {
          biasSiluSaveRows(zTmp + r0 * N, b, m ? m + r0 * N : nullptr, h + r0 * N, f + r0 * N, n, N);
        });
        in = h;
      } else {
        float* h = hb[l % 2];
        rowsParallel(d.B, N, [&](int64_t r0, int64_t n) { biasSiluRows(zTmp + r0 * N, b, m ? m + r0 * N : nullptr, h + r0 * N, n, N); });
        in = h;
      }
    }
    return undefinedValue(env);
  });
}

// mlpBackward(heap, table, geometry)
//   geometry [B, Dx, E, kind, layers, masks, affine, H_0..H_{layers-1}, engineW_0.., engineX_0..]
//   table    [dy, x, σ, ω, dx, dσ, W_0..W_{layers-1}, h_0..h_{layers-2}, f_0..f_{layers-2} (the forward's
//             saved outputs; the masks are in them), c, F (if affine), dW_0, db_0, ..., dW_{layers-1},
//             db_{layers-1}, dskip, dc (if affine)]
napi_value MlpBackward(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    FlushSubnormals flush;
    auto a = args(env, info, 3);
    size_t len = 0, tl = 0, gl = 0;
    float* heap = f32(env, a[0], &len);
    const double* t = f64(env, a[1], &tl, "table");
    const double* g = f64(env, a[2], &gl, "geometry");
    MlpDims d = mlpDims(g, gl, 7);
    const bool affine = g[6] != 0;
    const int64_t L = d.layers;
    if (gl != static_cast<size_t>(7 + 3 * L)) throw JsError{"mlp geometry: expected 7 + 3·layers numbers"};
    for (int64_t l = 0; l < L; l++) d.widths.push_back(static_cast<int64_t>(g[7 + l]));
    const size_t hAt = 6 + L, fAt = hAt + (L - 1), affineAt = fAt + (L - 1), gradAt = affineAt + (affine ? 2 : 0);
    const size_t want = gradAt + 2 * L + (affine ? 2 : 0);
    if (tl != want) throw JsError{"mlp grad table: expected " + std::to_string(want) + " offsets, got " + std::to_string(tl)};
    auto ptr = [&](size_t i, int64_t count, const char* what) { return at(heap, len, static_cast<int64_t>(t[i]), count, what); };
    const float* dy = ptr(0, d.B * d.widths[L - 1], "dy");
    const float* x = ptr(1, d.B * d.Dx, "x");
    const float* sigma = ptr(2, d.B, "sigma");
    const float* freqs = ptr(3, d.E / 2, "freqs");
    float* dx = ptr(4, d.B * d.Dx, "dx");
    float* dsigma = ptr(5, d.B, "dsigma");
    const int64_t D0 = d.Dx + d.E, maxW = d.maxWidth();
    float* cat = scratch(g_mlpCat, d.B * D0);
    mlpInput(d, x, sigma, freqs, cat);
    float* gb[2] = {scratch(g_mlpA, d.B * maxW), scratch(g_mlpB, d.B * maxW)};
    const float* gcur = dy;
    if (affine) {
      // y = skip + c·F: dskip = dy, dF = dy·c, dc = Σ_j dy·F
      const int64_t Dout = d.widths[L - 1];
      float* dF = scratch(g_mlpH, d.B * Dout);
      affineGradRows(dy, ptr(affineAt + 1, d.B * Dout, "F"), ptr(affineAt, d.B, "c"), dF, ptr(gradAt + 2 * L + 1, d.B, "dc"), d.B, Dout);
      std::memcpy(ptr(gradAt + 2 * L, d.B * Dout, "dskip"), dy, sizeof(float) * d.B * Dout);
      gcur = dF;
    }
    for (int64_t l = L - 1; l >= 0; l--) {
      const int64_t K = d.in(l), N = d.widths[l];
      const float* W = ptr(6 + l, K * N, "weight");
      float* dW = ptr(gradAt + 2 * l, K * N, "dW");
      float* db = ptr(gradAt + 2 * l + 1, N, "db");
      const float* in = l > 0 ? ptr(hAt + l - 1, d.B * K, "h") : cat;
      gemm(static_cast<int>(g[7 + L + l]), true, false, K, N, d.B, in, K, gcur, N, 0.0f, dW, N);
      columnSums(gcur, db, d.B, N);
      float* gn = gb[l % 2];
      gemm(static_cast<int>(g[7 + 2 * L + l]), false, true, d.B, K, N, gcur, N, W, N, 0.0f, gn, K);
      if (l > 0) {
        const float* f = ptr(fAt + l - 1, d.B * K, "f");
        chunked(d.B * K, [&](int64_t e0, int64_t n) { mulRows(gn + e0, f + e0, n); });
      }
      gcur = gn;
    }
    // gcur = d[x, emb] [B, D0]: dx, and dσ through emb(σ) = [sin(ω c), cos(ω c)] (or swapped), whose
    // values are in cat: dc = Σ_j ω_j (dsin_j·cos_j − dcos_j·sin_j), dσ = dc·c'(σ)
    const int64_t half = d.E / 2;
    const int64_t sinAt = d.kind == 0 ? 0 : half, cosAt = d.kind == 0 ? half : 0;
    for (int64_t r = 0; r < d.B; r++) {
      const float* row = gcur + r * D0;
      const float* emb = cat + r * D0 + d.Dx;
      const float* dEmb = row + d.Dx;
      for (int64_t i = 0; i < d.Dx; i++) dx[r * d.Dx + i] = row[i];
      double dc = 0;
      for (int64_t j = 0; j < half; j++)
        dc += static_cast<double>(freqs[j]) * (dEmb[sinAt + j] * emb[cosAt + j] - dEmb[cosAt + j] * emb[sinAt + j]);
      const float sg = sigma[r];
      dsigma[r] = static_cast<float>(d.kind == 0 ? dc * 0.25 / sg : dc * 250.0 / (sg + 1e-44f));
    }
    return undefinedValue(env);
  });
}

// ------------------------------------------------------------------------------------------------
// The CT loss's last stage, L = mean_b w_b·d(x_b, y_b) (src/losses/distance.ts `weightedDistance`),
// and its gradient, one call each instead of ~10 small TF.js kernels and their gradients. Per row of
// D values: kind 0 squared ℓ2 mean_i (x − y)², kind 1 ℓ1 mean_i |x − y|, kind 2 pseudo-Huber
// √(Σ_i (x − y)² + c²) − c. Sums in double.
//   backward, for the upstream scalar g: dx_bi = (g/B)·w_b·∂d/∂x_bi, dy = −dx, dw_b = (g/B)·d_b
//   (∂d/∂x: 2(x − y)/D; ±1/D, −1 at a tie as TF.js's Abs gradient (step(x, −1)); (x − y)/√(Σ (x − y)² + c²)).

double rowDistance(int64_t kind, const float* x, const float* y, int64_t D, double c) {
  double acc = 0;
  for (int64_t i = 0; i < D; i++) {
    const double v = static_cast<double>(x[i]) - static_cast<double>(y[i]);
    acc += kind == 1 ? std::fabs(v) : v * v;
  }
  if (kind == 2) return std::sqrt(acc + c * c) - c;
  return acc / static_cast<double>(D);
}

// The arguments of both distance calls: (heap, offsets, [B, D, kind], c), offsets checked by the caller
struct DistanceCall {
  float* heap;
  size_t len;
  std::vector<int64_t> o;
  int64_t B, D, kind;
  double c;
};

DistanceCall distanceCall(napi_env env, napi_callback_info info, size_t offsets, const char* name) {
  auto a = args(env, info, 4);
  DistanceCall k{};
  k.heap = f32(env, a[0], &k.len);
  k.o = dims(env, a[1], offsets, (std::string(name) + " offsets").c_str());
  auto g = dims(env, a[2], 3, (std::string(name) + " geometry").c_str());
  NAPI_OK(napi_get_value_double(env, a[3], &k.c));
  k.B = g[0];
  k.D = g[1];
  k.kind = g[2];
  if (k.B < 1 || k.D < 1 || k.kind < 0 || k.kind > 2) throw JsError{std::string(name) + " geometry: expected B, D >= 1 and kind 0|1|2"};
  return k;
}

// weightedDistance(heap, [x, y, w, out], [B, D, kind], c)
napi_value WeightedDistance(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    FlushSubnormals flush;
    const DistanceCall k = distanceCall(env, info, 4, "weightedDistance");
    const int64_t B = k.B, D = k.D;
    const float* x = at(k.heap, k.len, k.o[0], B * D, "x");
    const float* y = at(k.heap, k.len, k.o[1], B * D, "y");
    const float* w = at(k.heap, k.len, k.o[2], B, "weight");
    float* out = at(k.heap, k.len, k.o[3], 1, "out");
    double acc = 0;
    for (int64_t b = 0; b < B; b++) acc += static_cast<double>(w[b]) * rowDistance(k.kind, x + b * D, y + b * D, D, k.c);
    out[0] = static_cast<float>(acc / static_cast<double>(B));
    return undefinedValue(env);
  });
}

// weightedDistanceGrad(heap, [g, x, y, w, dx, dy, dw], [B, D, kind], c)
napi_value WeightedDistanceGrad(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    FlushSubnormals flush;
    const DistanceCall k = distanceCall(env, info, 7, "weightedDistanceGrad");
    const int64_t B = k.B, D = k.D, kind = k.kind;
    const double c = k.c;
    const double up = static_cast<double>(*at(k.heap, k.len, k.o[0], 1, "g")) / static_cast<double>(B);
    const float* x = at(k.heap, k.len, k.o[1], B * D, "x");
    const float* y = at(k.heap, k.len, k.o[2], B * D, "y");
    const float* w = at(k.heap, k.len, k.o[3], B, "weight");
    float* dx = at(k.heap, k.len, k.o[4], B * D, "dx");
    float* dy = at(k.heap, k.len, k.o[5], B * D, "dy");
    float* dw = at(k.heap, k.len, k.o[6], B, "dweight");
    for (int64_t b = 0; b < B; b++) {
      const float* xr = x + b * D;
      const float* yr = y + b * D;
      const double d = rowDistance(kind, xr, yr, D, c);
      dw[b] = static_cast<float>(up * d);
      const double s = up * static_cast<double>(w[b]);
      const double scale = kind == 0 ? 2 * s / static_cast<double>(D) : kind == 1 ? s / static_cast<double>(D) : s / (d + c);  // √(Σ + c²) = d + c
      for (int64_t i = 0; i < D; i++) {
        const double v = static_cast<double>(xr[i]) - static_cast<double>(yr[i]);
        const double gi = kind == 1 ? (v > 0 ? scale : -scale) : scale * v;
        dx[b * D + i] = static_cast<float>(gi);
        dy[b * D + i] = static_cast<float>(-gi);
      }
    }
    return undefinedValue(env);
  });
}

// A deliberate copy of src/util/rng.ts's Rng.fillDropoutMask in C (test/backend/native-kernels.test.ts
// holds the two equal draw for draw and state for state).
// dropoutMask(out, state, p, keep): out[i] = 0 with probability p, else keep, drawn exactly as
// src/util/rng.ts's Rng.fillDropoutMask draws them (xoshiro128**, two 32-bit outputs per element
// forming a 53-bit uniform compared with p·2^53 in double precision: exact), so the masks and the
// generator's state afterwards (state: Int32Array [s0, s1, s2, s3], updated in place) are the same
inline uint32_t rotl32(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }

// one xoshiro128** output, advancing the state (s0..s3)
inline uint32_t xoshiroNext(uint32_t& s0, uint32_t& s1, uint32_t& s2, uint32_t& s3) {
  const uint32_t result = rotl32(s1 * 5u, 7) * 9u;
  const uint32_t t = s1 << 9;
  s2 ^= s0;
  s3 ^= s1;
  s1 ^= s2;
  s0 ^= s3;
  s2 ^= t;
  s3 = rotl32(s3, 11);
  return result;
}

napi_value DropoutMask(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    auto a = args(env, info, 4);
    size_t n = 0;
    float* out = f32(env, a[0], &n);
    bool is = false;
    NAPI_OK(napi_is_typedarray(env, a[1], &is));
    napi_typedarray_type type = napi_float32_array;
    size_t len = 0;
    void* data = nullptr;
    if (is) NAPI_OK(napi_get_typedarray_info(env, a[1], &type, &len, &data, nullptr, nullptr));
    if (!is || type != napi_int32_array || len != 4 || data == nullptr) throw JsError{"state: expected an Int32Array of 4 words"};
    double p = 0, keep = 0;
    NAPI_OK(napi_get_value_double(env, a[2], &p));
    NAPI_OK(napi_get_value_double(env, a[3], &keep));
    if (!(p >= 0 && p < 1)) throw JsError{"p: expected a dropout probability in [0, 1)"};
    int32_t* st = static_cast<int32_t*>(data);
    uint32_t s0 = static_cast<uint32_t>(st[0]), s1 = static_cast<uint32_t>(st[1]), s2 = static_cast<uint32_t>(st[2]),
             s3 = static_cast<uint32_t>(st[3]);
    const double limit = p * 9007199254740992.0;
    const float keepF = static_cast<float>(keep);
    for (size_t i = 0; i < n; i++) {
      const uint32_t hi = xoshiroNext(s0, s1, s2, s3) >> 5;  // 27 bits
      const uint32_t lo = xoshiroNext(s0, s1, s2, s3) >> 6;  // 26 bits
      out[i] = static_cast<double>(hi) * 67108864.0 + static_cast<double>(lo) < limit ? 0.0f : keepF;
    }
    st[0] = static_cast<int32_t>(s0);
    st[1] = static_cast<int32_t>(s1);
    st[2] = static_cast<int32_t>(s2);
    st[3] = static_cast<int32_t>(s3);
    return undefinedValue(env);
  });
}

// emaStep(heap, table, rate): for each row [t, s, out, len]: out = rate·t + (1-rate)·s (double precision)
napi_value EmaStep(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    auto a = args(env, info, 3);
    size_t len = 0, tl = 0;
    float* heap = f32(env, a[0], &len);
    const double* t = f64(env, a[1], &tl, "table");
    double rate = 0;
    NAPI_OK(napi_get_value_double(env, a[2], &rate));
    if (tl % 4 != 0) throw JsError{"emaStep: expected a table of rows of 4"};
    for (size_t r = 0; r < tl / 4; r++) {
      const double* row = t + r * 4;
      const int64_t n = static_cast<int64_t>(row[3]);
      const float* tt = at(heap, len, static_cast<int64_t>(row[0]), n, "teacher");
      const float* ss = at(heap, len, static_cast<int64_t>(row[1]), n, "student");
      float* o = at(heap, len, static_cast<int64_t>(row[2]), n, "out");
      if (rate == 0)
        std::memcpy(o, ss, sizeof(float) * n);
      else
        emaRow(tt, ss, o, n, rate);
    }
    return undefinedValue(env);
  });
}

napi_value SetThreads(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    auto a = args(env, info, 1);
    const int64_t n = i64(env, a[0], "threads");
    if (n < 1 || n > 1024) throw JsError{"threads: expected an integer in 1..1024"};
    setThreadsImpl(static_cast<int>(n));
    return undefinedValue(env);
  });
}

napi_value GetThreads(napi_env env, napi_callback_info) {
  return guarded(env, [&]() -> napi_value {
    napi_value o, v;
    NAPI_OK(napi_create_object(env, &o));
    NAPI_OK(napi_create_int32(env, g_threads, &v));
    NAPI_OK(napi_set_named_property(env, o, "requested", v));
    NAPI_OK(napi_create_int32(env, omp_get_max_threads(), &v));
    NAPI_OK(napi_set_named_property(env, o, "openmp", v));
    NAPI_OK(napi_create_int32(env, openblas_get_num_threads(), &v));
    NAPI_OK(napi_set_named_property(env, o, "openblas", v));
    return o;
  });
}

/** The oneDNN implementation chosen for a convolution (e.g. "brg:avx512_core", "jit:avx2"). */
napi_value ConvImpl(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    auto a = args(env, info, 3);
    const int64_t kindNum = i64(env, a[0], "kind");
    if (kindNum < 0 || kindNum > 2) throw JsError{"kind: expected 0, 1 or 2"};
    Conv c(dims(env, a[1], 17, "geometry"));
    const int64_t engineNum = i64(env, a[2], "engine");
    if (engineNum != 0 && engineNum != 3) throw JsError{"engine: expected 0 or 3 (the oneDNN engines)"};
    const std::string impl = kindNum == 0 && isSingleOutputChannel(c)
                                 ? "ctlab:direct_co1"
                                 : dnnlConv(c, kindNum == 0 ? 'f' : kindNum == 1 ? 'd' : 'w', false, engineNum == 3).impl;
    napi_value s;
    NAPI_OK(napi_create_string_utf8(env, impl.c_str(), NAPI_AUTO_LENGTH, &s));
    return s;
  });
}

napi_value Versions(napi_env env, napi_callback_info) {
  return guarded(env, [&]() -> napi_value {
    const dnnl_version_t* v = dnnl_version();
    std::string dn = std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
    std::string cpuRuntime = v->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP" : v->cpu_runtime == DNNL_RUNTIME_TBB ? "TBB" : "other";
    napi_value o, s;
    NAPI_OK(napi_create_object(env, &o));
    NAPI_OK(napi_create_string_utf8(env, dn.c_str(), NAPI_AUTO_LENGTH, &s));
    NAPI_OK(napi_set_named_property(env, o, "onednn", s));
    NAPI_OK(napi_create_string_utf8(env, cpuRuntime.c_str(), NAPI_AUTO_LENGTH, &s));
    NAPI_OK(napi_set_named_property(env, o, "onednnRuntime", s));
    NAPI_OK(napi_create_string_utf8(env, openblas_get_config(), NAPI_AUTO_LENGTH, &s));
    NAPI_OK(napi_set_named_property(env, o, "openblas", s));
    NAPI_OK(napi_create_string_utf8(env, g_isa == ISA_AVX512 ? "avx512" : g_isa == ISA_AVX2FMA ? "avx2+fma" : "baseline", NAPI_AUTO_LENGTH, &s));
    NAPI_OK(napi_set_named_property(env, o, "simd", s));
    return o;
  });
}

napi_value ClearCache(napi_env env, napi_callback_info) {
  return guarded(env, [&]() -> napi_value {
    g_convCache.clear();
    std::vector<float>().swap(g_cols);
    g_srcScratch.release();
    g_dstScratch.release();
    return undefinedValue(env);
  });
}

napi_value Init(napi_env env, napi_value exports) {
  struct Fn {
    const char* name;
    napi_callback cb;
  };
  const Fn fns[] = {{"conv2d", Conv2d},         {"matmul", Matmul},     {"setThreads", SetThreads}, {"getThreads", GetThreads},
                    {"convImpl", ConvImpl},     {"versions", Versions}, {"clearCache", ClearCache},
                    {"copyRows", CopyRows},     {"adamStep", AdamStep}, {"emaStep", EmaStep},
                    {"groupNorm", GroupNorm},   {"groupNormGrad", GroupNormGrad}, {"binary", Binary},
                    {"resizeNearest", ResizeNearest}, {"dropoutMask", DropoutMask}, {"silu", Silu},
                    {"siluGrad", SiluGrad}, {"mlpForward", MlpForward}, {"mlpBackward", MlpBackward}, {"weightedDistance", WeightedDistance}, {"weightedDistanceGrad", WeightedDistanceGrad}};
  for (const Fn& f : fns) {
    napi_value v;
    if (napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.cb, nullptr, &v) != napi_ok) return nullptr;
    if (napi_set_named_property(env, exports, f.name, v) != napi_ok) return nullptr;
  }
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
