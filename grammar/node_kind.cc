#include "grammar/node_kind.h"

namespace aos::grammar {

const char* NodeKindName(NodeKind k) {
  switch (k) {
#define AOS_X(name) \
  case NodeKind::name: \
    return #name;
    AOS_NODE_KINDS(AOS_X)
#undef AOS_X
  }
  return "?";
}

}  // namespace aos::grammar
