int cerasure_placeholder(void) { return 0; }
