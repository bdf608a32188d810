/* A shared object that defines no view: `lvctl upgrade` must refuse it. */
__attribute__((visibility("default"))) int not_a_view = 1;
