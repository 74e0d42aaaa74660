package gatun

// Version is the Gatun release this client belongs to. VERSION at the repository root is the one
// source; python/tests/test_version.py checks that this constant, the Maven poms and the Python
// package agree.
const Version = "0.1.0"
