package main

import "math"

// Palette.
var (
	seaTop    = hex("#1FB5C9") // shallow water, top left of the tile
	seaBottom = hex("#0A2E57") // deep water, bottom right
	hullLight = hex("#FFFFFF")
	hullShade = hex("#DCE6EF")
	hullInner = hex("#123E66") // the open hull seen from above
	boom      = hex("#F3F6F9")
	floatApp  = hex("#FF8A4C") // the app icon's float: coral
	wake      = hex("#FFFFFF")
	shadowInk = hex("#04142B")

	ready    = hex("#34D27B")
	starting = hex("#FFB020")
	failed   = hex("#FF4D4F")
	idle     = hex("#9DB2C8")
)

// canoe is the mark's geometry, in unit-square coordinates.
type canoe struct {
	centre    vec     // the hull's centre
	angle     float64 // direction the bow points (radians, y down)
	hullLen   float64 // half-length
	hullWide  float64 // half-width
	rim       float64 // hull wall thickness, 0 for a solid hull
	floatOff  float64 // the float's distance from the hull's axis
	floatLen  float64 // its half-length
	floatWide float64 // its half-width
	floatAt   float64 // its centre along the axis, from the hull's centre
	booms     [2]float64
	boomR     float64 // boom radius
}

func (c canoe) axis() vec { return vec{1, 0}.rot(c.angle) }
func (c canoe) side() vec { return vec{0, 1}.rot(c.angle) } // towards the float

func (c canoe) hull() shape { return lens(c.centre, c.hullLen, c.hullWide, c.angle) }

func (c canoe) inner() shape {
	return lens(c.centre, c.hullLen-2.2*c.rim, c.hullWide-c.rim, c.angle)
}

func (c canoe) float() shape {
	return lens(c.floatCentre(), c.floatLen, c.floatWide, c.angle)
}

// boomShapes run from just inside the hull's far wall across to the float.
func (c canoe) boomShapes() shape {
	var s []shape
	for _, u := range c.booms {
		base := c.centre.add(c.axis().scale(u))
		from := base.sub(c.side().scale(c.hullWide * 0.55))
		to := base.add(c.side().scale(c.floatOff + c.floatWide*0.2))
		s = append(s, capsule(from, to, c.boomR))
	}
	return union(s...)
}

func (c canoe) all() shape { return union(c.hull(), c.float(), c.boomShapes()) }

// layers paints the canoe: booms first, then hull and float over them.
func (c canoe) layers(floatPaint rgba) []layer {
	hullPaint := linear(c.centre.sub(c.side().scale(c.hullWide)), c.centre.add(c.side().scale(c.hullWide)), hullLight, hullShade)
	ls := []layer{
		fill(c.boomShapes(), solid(boom)),
		fill(c.hull(), hullPaint),
	}
	if c.rim > 0 {
		ls = append(ls, fill(c.inner(), linear(c.centre.sub(c.side().scale(c.hullWide)), c.centre.add(c.side().scale(c.hullWide)), hullInner.mix(seaTop, 0.25), hullInner)))
		// The booms cross the open hull: lashed to both walls.
		ls = append(ls, clip(c.inner(), fill(c.boomShapes(), solid(boom))))
	}
	floatDark := floatPaint.mix(hex("#000000"), 0.18)
	at := c.floatCentre()
	ls = append(ls, fill(c.float(), linear(at.sub(c.side().scale(c.floatWide)), at.add(c.side().scale(c.floatWide)), floatPaint, floatDark)))
	return ls
}

const deg = math.Pi / 180

// appIcon is the 512×512 application icon: the canoe crossing a rounded
// tile of sea, its wake behind it.
func appIcon() picture {
	tile := roundBox(vec{0.5, 0.5}, vec{0.43, 0.43}, 0.2)
	c := canoe{
		centre: vec{0.475, 0.425}, angle: -32 * deg,
		hullLen: 0.33, hullWide: 0.088, rim: 0.027,
		floatOff: 0.2, floatLen: 0.23, floatWide: 0.034, floatAt: 0.02,
		booms: [2]float64{-0.11, 0.12}, boomR: 0.014,
	}
	// The wake: two strokes spreading back from the stern, and a ripple
	// around the float's tail.
	stern := c.centre.sub(c.axis().scale(c.hullLen))
	back, side := c.axis().scale(-1), c.side()
	wakeStroke := func(spread, from, to, w float64) shape {
		dir := back.add(side.scale(spread))
		return capsule(stern.add(dir.scale(from)), stern.add(dir.scale(to)), w)
	}
	wakes := union(
		wakeStroke(-0.36, 0.02, 0.26, 0.009),
		wakeStroke(0.36, 0.02, 0.20, 0.009),
	)
	return picture{
		shadow(tile, vec{0, 0.012}, 0.03, shadowInk.alpha(0.45)),
		fill(tile, linear(vec{0.1, 0.08}, vec{0.85, 0.95}, seaTop, seaBottom)),
		// A soft light on the water, top left.
		clip(tile, func(p vec) rgba {
			return hex("#FFFFFF").alpha(0.16 * (1 - smooth(0, 0.45, p.sub(vec{0.22, 0.18}).len())))
		}),
		clip(tile, fill(wakes, func(p vec) rgba {
			return wake.alpha(0.6 * (1 - smooth(0.02, 0.4, p.sub(stern).len())))
		})),
		clip(tile, shadow(c.all(), vec{0.012, 0.022}, 0.035, shadowInk.alpha(0.45))),
		layersOf(c.layers(floatApp)),
	}
}

// trayIcon is a 64×64 tray icon: the same canoe, larger and bolder on a
// dark tile, its float in the state's colour and a status dot.
func trayIcon(state rgba) picture {
	tile := roundBox(vec{0.5, 0.5}, vec{0.47, 0.47}, 0.22)
	c := trayCanoe
	return picture{
		fill(tile, linear(vec{0.15, 0.1}, vec{0.85, 0.95}, hex("#1B4F7A"), hex("#0A2440"))),
		clip(tile, shadow(c.all(), vec{0.015, 0.025}, 0.04, shadowInk.alpha(0.5))),
		layersOf(c.layers(state)),
	}
}

// trayCanoe is centred on the tile, larger and bolder than the app icon's:
// a solid hull and a thick float, legible at 16 pixels.
var trayCanoe = canoe{
	centre: vec{0.43, 0.39}, angle: -32 * deg,
	hullLen: 0.37, hullWide: 0.11, rim: 0,
	floatOff: 0.27, floatLen: 0.30, floatWide: 0.095, floatAt: 0.03,
	booms: [2]float64{-0.12, 0.13}, boomR: 0.035,
}

// floatCentre is where the float's middle is.
func (c canoe) floatCentre() vec {
	return c.centre.add(c.side().scale(c.floatOff)).add(c.axis().scale(c.floatAt))
}

// layersOf flattens several layers into one.
func layersOf(ls []layer) layer {
	return func(p vec) rgba { return picture(ls).at(p) }
}
