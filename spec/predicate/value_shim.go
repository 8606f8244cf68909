package predicate

// TEMPORARY (branch shape): CompileValue is owned by branch expr; this
// stand-in lets the output block be built before that branch lands and is
// deleted when it is merged.

// CompileValue compiles a value expression (any result type) against env.
func CompileValue(src string, env Env) (Expr, []Error) {
	c := newChecker(src, &env)
	tree, perr := parse(src)
	if perr != nil {
		return nil, []Error{*perr}
	}
	c.lex()
	root := c.expr(tree.Node)
	if len(c.errs) > 0 {
		return nil, c.errs
	}
	if isErr(root) {
		return nil, []Error{{Span: Span{0, len(src)}, Summary: "invalid expression", Detail: supported}}
	}
	return root, nil
}
