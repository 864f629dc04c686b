"""The pictures: animations, static figures and the frame stepper.

``animation`` draws the U from a built model (``draw_unet``) and animates
the encoder, the decoder, the feature maps and training; ``figures`` holds
the class colours, captions that refuse illegible text, and the static
plots; ``stepper`` lets a reader step through an animation on a page. The
top-level package re-exports their public names (``ut.animate_encoder``).
"""
