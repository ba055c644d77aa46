# The one list of sources, shared by the main build and the fuzz build.
# Paths are relative to the repository root.

# Kernel files, in build order: common.cl defines what the others use. The
# embedded table keeps this order and the program loader walks it.
set(CLM_KERNELS common.cl binary.cl weight_grad.cl multiclass.cl)

set(CLM_LIB_SOURCES
  src/status.c
  src/context.c
  src/program.c
  src/binary.c
  src/metrics_binary.c
  src/multiclass.c
  src/metrics_multiclass.c
  src/selftest.c
  src/fault.c
  src/array.c
  src/io_npy.c
  src/io_npy_write.c
  src/io_csv.c)

# The CLI without main.c (the fuzz build links these into its harness).
set(CLM_CLI_SOURCES
  src/cli/cli_common.c
  src/cli/cli_cache.c
  src/cli/cli_outputs.c
  src/cli/cli_binary.c
  src/cli/cli_multiclass.c
  src/cli/cli_demo.c
  src/cli/cli_devices.c
  src/cli/cli_selftest.c
  src/cli/json.c)

# Generates the embedded kernel table into OUT from the .cl files in
# SRC_DIR/kernels.
function(clm_embed_kernels out src_dir)
  string(REPLACE ";" "," names "${CLM_KERNELS}")
  set(files)
  foreach(k ${CLM_KERNELS})
    list(APPEND files ${src_dir}/kernels/${k})
  endforeach()
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DOUT=${out} -DDIR=${src_dir}/kernels
            "-DNAMES=${names}" -P ${src_dir}/cmake/embed_kernels.cmake
    VERBATIM
    DEPENDS ${files} ${src_dir}/cmake/embed_kernels.cmake
    COMMENT "Embedding OpenCL kernels")
endfunction()
