// The one throw site for ctorch errors (keeps the throw code out of every caller).
#include "ctorch/core/error.h"

namespace ctorch {
void throw_error(ErrorKind kind, const std::string& msg) { throw Error(kind, msg); }
}  // namespace ctorch
