{
  "targets": [
    {
      "target_name": "ctlab_native",
      "sources": ["ctlab_native.cc"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "-fopenmp"],
      "defines": ["NAPI_VERSION=8"],
      "libraries": ["-ldnnl", "-lopenblas", "-fopenmp"]
    }
  ]
}
