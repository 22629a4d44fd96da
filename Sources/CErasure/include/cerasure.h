int cerasure_placeholder(void);
