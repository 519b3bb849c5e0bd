{
  "targets": [
    {
      "target_name": "vsdlab_lapack",
      "sources": ["lapack.c"],
      "cflags": ["-std=c11", "-ffp-contract=off", "-Wall", "-Wextra"],
      "libraries": ["-lopenblas"]
    }
  ]
}
