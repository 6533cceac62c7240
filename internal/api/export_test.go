package api

// Routes returns the patterns the server registered, for the OpenAPI test.
func (s *Server) Routes() []string { return s.routes }

// SameValue is sameValue, for tests.
var SameValue = sameValue
