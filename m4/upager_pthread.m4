# AX_PTHREAD_SIMPLE: find the flags for POSIX threads (glibc: -pthread).
AC_DEFUN([AX_PTHREAD_SIMPLE], [
  AC_MSG_CHECKING([for -pthread])
  save_CFLAGS=$CFLAGS
  CFLAGS="$CFLAGS -pthread"
  AC_LINK_IFELSE([AC_LANG_PROGRAM([[#include <pthread.h>]],
                                  [[pthread_t t; pthread_create(&t, 0, 0, 0);]])],
    [PTHREAD_CFLAGS=-pthread; AC_MSG_RESULT([yes])],
    [PTHREAD_CFLAGS=; AC_MSG_RESULT([no])])
  CFLAGS=$save_CFLAGS
  PTHREAD_LIBS=-pthread
  AC_SUBST([PTHREAD_CFLAGS])
  AC_SUBST([PTHREAD_LIBS])
])
