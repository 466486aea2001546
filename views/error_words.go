package views

import "net/http"

// errorWords are the friendly words for each status the error page shows.
var errorWords = map[int][2]string{
	http.StatusBadRequest:            {"Bad request", "The request could not be understood."},
	http.StatusForbidden:             {"Not allowed", "You do not have access to this page."},
	http.StatusNotFound:              {"Page not found", "There is nothing at this address."},
	http.StatusMethodNotAllowed:      {"Not allowed", "This address does not accept that kind of request."},
	http.StatusRequestEntityTooLarge: {"Too large", "The request was too large."},
	http.StatusTooManyRequests:       {"Slow down", "Too many requests. Wait a minute and try again."},
	http.StatusServiceUnavailable:    {"Busy", "The server is busy. Try again in a few seconds."},
}

// ErrorWords is the error page's title and text for status, and the status it shows: another
// 4xx keeps its code with general words, and every other 5xx is shown as 500.
func ErrorWords(status int) (shown int, title, text string) {
	if w, ok := errorWords[status]; ok {
		return status, w[0], w[1]
	}
	if status < 500 {
		return status, "Something is not right", "The request could not be completed."
	}
	return http.StatusInternalServerError, "Something went wrong", "An unexpected error occurred. It has been logged; please try again."
}
