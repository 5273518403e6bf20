package uithread

import (
	"sync"
	"sync/atomic"
	"testing"

	"fyne.io/fyne/v2/test"
)

// Goroutines have distinct numbers; the test's own is not the UI one.
func TestGoroutineID(t *testing.T) {
	here := goroutineID()
	if here == 0 {
		t.Fatal("no goroutine number read")
	}
	if goroutineID() != here {
		t.Error("the same goroutine read two numbers")
	}
	ids := make(chan uint64, 2)
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); ids <- goroutineID() }()
	}
	wg.Wait()
	a, b := <-ids, <-ids
	if a == b || a == here || b == here || a == 0 || b == 0 {
		t.Errorf("goroutine numbers here %d, others %d and %d", here, a, b)
	}
	if OnUI() {
		t.Error("a test goroutine taken for the UI one")
	}
}

// The test driver runs fyne.Do at once on the calling goroutine, as the
// real driver does after its loop ended: such work is dropped.
func TestDoDropsWorkOffTheUIGoroutine(t *testing.T) {
	test.NewTempApp(t)
	var ran atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		Do(func() { ran.Store(true) })
	}()
	<-done
	if ran.Load() {
		t.Error("work ran off the UI goroutine")
	}
}

// ranOnMain: work handed over on the main goroutine (the UI one) before
// the tests run, as the app builds its window before the loop, ran.
var ranOnMain bool

func TestMain(m *testing.M) {
	app := test.NewApp()
	Do(func() { ranOnMain = true })
	app.Quit()
	m.Run()
}

func TestDoRunsOnTheUIGoroutine(t *testing.T) {
	if !ranOnMain {
		t.Error("work handed over on the UI goroutine did not run")
	}
}
