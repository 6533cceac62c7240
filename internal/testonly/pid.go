package testonly

// Pid is the process id of the node's process (of the wrapper, such as ip
// netns exec, which execs the node and so keeps its pid).
func (n *Node) Pid() int {
	if n.cmd == nil || n.cmd.Process == nil {
		return 0
	}
	return n.cmd.Process.Pid
}
