{
  "targets": [
    {
      "target_name": "ctlab_native",
      "sources": ["ctlab_native.cc"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      # -fno-trapping-math lets gcc if-convert (and so vectorize) the clamped exp of the GroupNorm+SiLU loops;
      # -fno-math-errno lets it vectorize sqrt (the optimizer's update) instead of calling libm per element
      "cflags_cc": ["-std=c++17", "-O3", "-fno-trapping-math", "-fno-math-errno", "-fexceptions", "-fopenmp"],
      "defines": ["NAPI_VERSION=8"],
      "libraries": ["-ldnnl", "-lopenblas", "-fopenmp"]
    }
  ]
}
