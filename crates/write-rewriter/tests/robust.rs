//! strace's behaviour as the spec: any signal passed on, Ctrl-C and
//! `kill -STOP` left to the program, vanishing and threaded tracees.

workbook::tracer_check_tests!("write-rewriter", shown = AsAs);
