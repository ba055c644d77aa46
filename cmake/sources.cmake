# The one list of sources, shared by the main build and the fuzz build.
# Paths are relative to the repository root.

# Kernel files, in build order: clm_shared.h (constants shared with the
# host) and common.cl define what the others use. The embedded table keeps
# this order and the program loader walks it.
set(CLM_KERNELS clm_shared.h common.cl binary.cl weight_grad.cl multiclass.cl
  ranking.cl calibration.cl multilabel.cl)

set(CLM_LIB_SOURCES
  # core: status codes, errors, fault injection
  src/core/status.c
  src/core/fault.c
  # device: discovery, context, program build, launch shapes
  src/device/context.c
  src/device/program.c
  # engine: the one chunk driver
  src/engine/driver.c
  # task families: state, device update, finalize
  src/tasks/registry.c
  src/tasks/binary/state.c
  src/tasks/binary/scores.c
  src/tasks/binary/update.c
  src/tasks/binary/finalize.c
  src/tasks/binary/serialize.c
  src/tasks/multiclass/state.c
  src/tasks/multiclass/scores.c
  src/tasks/multiclass/confusion.c
  src/tasks/multiclass/update.c
  src/tasks/multiclass/weighted.c
  src/tasks/multiclass/gradient.c
  src/tasks/multiclass/finalize.c
  src/tasks/multiclass/serialize.c
  src/tasks/ranking/device.c
  src/tasks/ranking/resolve.c
  src/tasks/ranking/compute.c
  src/tasks/ranking/state.c
  src/tasks/ranking/weighted.c
  src/tasks/ranking/serialize.c
  src/tasks/calibration/state.c
  src/tasks/calibration/update.c
  src/tasks/calibration/finalize.c
  src/tasks/calibration/serialize.c
  src/tasks/multilabel/state.c
  src/tasks/multilabel/update.c
  src/tasks/multilabel/scores.c
  src/tasks/multilabel/finalize.c
  src/tasks/multilabel/serialize.c
  # the device self-test and its double-precision reference
  src/selftest/selftest.c
  src/reference/reference.c
  src/reference/ref_calibration.c
  src/reference/ref_multilabel.c
  # io: arrays, .npy, CSV
  src/io/array.c
  src/io/npy_read.c
  src/io/npy_write.c
  src/io/csv.c
  # saved states: byte codec, checksum and container
  src/io/state_codec.c)

# The CLI without main.c (the fuzz build links these into its harness).
set(CLM_CLI_SOURCES
  src/cli/cli_common.c
  src/cli/cli_mpi.c
  src/cli/cli_shards.c
  src/cli/cli_cache.c
  src/cli/cli_outputs.c
  src/cli/cli_binary.c
  src/cli/report_binary.c
  src/cli/cli_ranking.c
  src/cli/cli_calibration.c
  src/cli/cli_weights.c
  src/cli/cli_multiclass.c
  src/cli/report_multiclass.c
  src/cli/cli_multilabel.c
  src/cli/cli_multilabel_rank.c
  src/cli/report_multilabel.c
  src/cli/cli_state.c
  src/cli/cli_merge.c
  src/cli/class_names.c
  src/cli/cli_demo.c
  src/cli/cli_devices.c
  src/cli/cli_selftest.c
  src/cli/json.c
  # the visual report: --html, --svg-dir
  src/cli/svg.c
  src/cli/report_html.c
  src/cli/report_figures.c
  src/cli/report_pages.c)

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
