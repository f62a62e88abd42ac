# edgelink_embed_files(OUTPUT out.cpp NAMESPACE ns FUNCTION fn BASE dir FILES f1 f2 ...)
# Generates a C++ source defining
#   const std::vector<ns::EmbeddedFile>& ns::fn();
# with every file's bytes, keyed by its path relative to BASE. Regenerated when a file changes,
# so a deployed binary needs no data directory.
function(edgelink_embed_files)
  cmake_parse_arguments(ARG "" "OUTPUT;NAMESPACE;FUNCTION;BASE" "FILES" ${ARGN})
  add_custom_command(
    OUTPUT "${ARG_OUTPUT}"
    COMMAND ${CMAKE_COMMAND}
      -DOUTPUT=${ARG_OUTPUT} -DNAMESPACE=${ARG_NAMESPACE} -DFUNCTION=${ARG_FUNCTION}
      -DBASE=${ARG_BASE} "-DFILES=${ARG_FILES}"
      -P "${PROJECT_SOURCE_DIR}/cmake/EdgelinkEmbedScript.cmake"
    DEPENDS ${ARG_FILES} "${PROJECT_SOURCE_DIR}/cmake/EdgelinkEmbedScript.cmake"
    COMMENT "Embedding ${ARG_FUNCTION} data"
    VERBATIM)
endfunction()
