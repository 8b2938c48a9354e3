//! strace's behaviour as the spec: any signal passed on, Ctrl-C and
//! `kill -STOP` left to the program, vanishing and threaded tracees. With
//! no --break, the demo breaks on `main` where the program has it.

workbook::tracer_check_tests!("breakpoint");
