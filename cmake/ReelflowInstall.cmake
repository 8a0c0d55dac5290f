# installation rules and the CMake package for plugin authors
