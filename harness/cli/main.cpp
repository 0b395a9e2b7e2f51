// cmbench: the one executable, with the shipped models (harness/cli/entry.hpp).
#include "harness/cli/entry.hpp"

int main(int argc, char** argv) { return cmb::main(argc, argv); }
