#include "exporter/cli.h"

int main(int argc, char** argv) { return rrca::exporter::RunCli(argc, argv); }
